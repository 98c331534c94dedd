"""A run's results on their way to the ledger, and the claims it still has to settle.

Every claim handed to a delivery stays `unsettled` until its outcome is
known; outcomes are written in batches (every `FLUSH_EVERY`), except messages
Telegram accepted, which go with the next wave of marks (their rows are in
doubt until then). Whatever a run still holds when it is cancelled or
crashes is settled here on its way out: released if its request never left,
ambiguous if it may have.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from backend.domain import deliveries
from backend.domain.deliveries import Claim, Outcome, OutcomeKind
from backend.observability.metrics import record_broadcast_outcomes
from backend.workers.sending.context import RunContext
from backend.workers.sending.marks import Marks

log = logging.getLogger("dvorik.sending")

FLUSH_EVERY = 0.1  # seconds between writes of results to the ledger


class Recorder:
    def __init__(self, context: RunContext) -> None:
        self.context = context
        self.results: list[Outcome] = []
        self.requesting: set[int] = set()  # deliveries whose request is on the wire
        self.unsettled: dict[int, Claim] = {}  # claims handed to a task, no outcome yet
        self.counts: Counter[str] = Counter()
        self.marks = Marks(context.tx, context.clock, self.recorded, self.results.extend)
        self.flushing = asyncio.Lock()

    def hold(self, claim: Claim) -> None:
        """`claim` goes to a delivery: it is this run's to settle."""
        self.unsettled[claim.delivery_id] = claim

    def lost(self, claim: Claim) -> None:
        """The lease ran out and the row went to another run: nothing to record."""
        self.unsettled.pop(claim.delivery_id, None)
        self.counts["lost"] += 1

    def result(
        self,
        claim: Claim,
        kind: OutcomeKind,
        *,
        message_id: int | None = None,
        reason: str | None = None,
    ) -> None:
        self.unsettled.pop(claim.delivery_id, None)
        outcome = Outcome(claim.delivery_id, kind, message_id, reason)
        if kind == "sent":
            self.marks.record_sent(outcome)  # at once: the row is in doubt until it is
        else:
            self.results.append(outcome)

    def settle_cancelled(self, claim: Claim) -> None:
        """A delivery was cancelled: ambiguous if its request was on the wire, else released."""
        if claim.delivery_id in self.requesting:
            self.requesting.discard(claim.delivery_id)
            self.result(claim, "ambiguous", reason="worker stopped mid-request")
        else:
            self.result(claim, "released", reason="worker stopped before sending")

    def held_leases(self) -> dict[str, list[int]]:
        """The unsettled deliveries by the lease they were claimed under."""
        held: dict[str, list[int]] = {}
        for claim in list(self.unsettled.values()):
            held.setdefault(claim.lease, []).append(claim.delivery_id)
        return held

    def recorded(self, batch: list[Outcome]) -> None:
        self.counts.update(outcome.kind for outcome in batch)
        record_broadcast_outcomes(outcome.kind for outcome in batch)

    async def settle(self) -> None:
        """Every mark asked for written, then the results so far."""
        await self.marks.settle()
        await self.flush()

    async def flush(self) -> None:
        """Record the results so far; one at a time, so a caller sees earlier flushes done."""
        async with self.flushing:
            if not self.results:
                return
            batch = self.results[:]
            del self.results[:]  # the same list: `Marks` gives back what it could not write
            try:
                await self.context.tx(
                    lambda s: deliveries.record_outcomes(s, batch, now=self.context.clock())
                )
            except BaseException:
                self.results[:0] = batch
                raise
            self.recorded(batch)

    async def flush_often(self) -> None:
        """Results reach the ledger within `FLUSH_EVERY`, even while the loop waits out a pause.

        The fewer results a crash can lose, the fewer rows end up ambiguous.
        """
        while True:
            await asyncio.sleep(FLUSH_EVERY)
            try:
                await asyncio.shield(self.flush())  # a cancel must not cut a batch in half
            except Exception:  # the main loop's own flush reports it
                log.warning("broadcast %s: could not record results yet", self.context.broadcast_id)
