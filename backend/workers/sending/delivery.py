"""One delivery's way out: its slot, a connection, the mark, the request, and what came back.

Each claim is worked by `Courier.deliver` until it has an outcome. Errors:

* 429 retry_after: the shared limiter pauses *all* sends for retry_after; this
  delivery waits and retries (at most `MAX_FLOOD_TRIES` times);
* 403: delivery blocked, and the customer is marked blocked;
* 400, 404 and other refusals: delivery failed with Telegram's reason;
* 5xx, or a connection that could not even be opened: retried with
  exponential backoff up to `max_tries`, then failed;
* a timeout or a connection lost mid-request, or anything unexpected from
  the request: ambiguous, failed as "ambiguous: …" and never resent (it may
  have arrived); a failure before the request (limiter, ledger): released;
* 401 (bad token): the row is released and the run raises, nothing can be sent.

A row is in doubt only while its request may be on the wire: it is marked
started as the very last step before the request (after its slot, a free
connection and the spacing), and any answer that certainly refused it (429,
5xx, 400, 403, ...) turns the mark back at once, before its outcome is
recorded or retried, so a worker killed then leaves a row that is resent (and
refused again) rather than one dropped as ambiguous.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass

from backend.domain import markup
from backend.domain.deliveries import Claim, OutcomeKind
from backend.observability.metrics import (
    record_broadcast_outcome,
    record_flood_wait,
    record_rate_limit_wait,
)
from backend.telegram.bot_api import (
    BotApi,
    BotApiError,
    Forbidden,
    NetworkError,
    RetryAfter,
    ServerError,
    Unauthorized,
    message_body,
)
from backend.workers.sending.context import RunContext
from backend.workers.sending.outgoing import spacing, wires
from backend.workers.sending.pace import SendRateLimiter
from backend.workers.sending.recording import Recorder
from backend.workers.sending.stopping import Stopped

log = logging.getLogger("dvorik.sending")

MAX_FLOOD_TRIES = 20  # 429s one delivery may meet before it is failed

# What became of a delivery: its outcome, Telegram's message id, the reason.
Verdict = tuple[OutcomeKind, int | None, str | None]


@dataclass
class _Tries:
    """What one delivery has met so far: failed requests, and 429s (counted apart)."""

    failed: int = 0
    floods: int = 0


class Courier:
    """Works one run's claims off through the Bot API, each to its outcome."""

    def __init__(
        self,
        context: RunContext,
        api: BotApi,
        limiter: SendRateLimiter,
        recorder: Recorder,
        *,
        max_tries: int,
    ) -> None:
        self.context = context
        self.api = api
        self.limiter = limiter
        self.recorder = recorder
        self.marks = recorder.marks
        self.max_tries = max_tries
        self.fatal: BaseException | None = None  # the run cannot go on (a refused token)

    async def deliver(self, claim: Claim) -> None:
        try:
            outcome = await self.attempts(claim)
        except asyncio.CancelledError:
            self.recorder.settle_cancelled(claim)
            raise
        if outcome is None:  # the lease ran out and the row went to another run
            self.recorder.lost(claim)
            return
        kind, message_id, reason = outcome
        self.recorder.result(claim, kind, message_id=message_id, reason=reason)

    async def attempts(self, claim: Claim) -> Verdict | None:
        """Try until Telegram takes or refuses the message, or the run stops."""
        tries = _Tries()
        # The body is built once, whatever the retries, before the message's slot comes.
        prepared = message_body(
            claim.chat_id, claim.text, markup.telegram_parse_mode(claim.parse_mode)
        )
        while True:
            try:
                return await self._once(claim, prepared)
            except Stopped:
                return "released", None, "worker stopped before sending"
            except BotApiError as error:
                answer = await self._refused(claim, error, tries)
            except Exception as error:  # the limiter or the ledger failed: nothing went out
                log.warning("broadcast %s: could not send: %r", self.context.broadcast_id, error)
                return "released", None, f"not sent: {type(error).__name__}"
            if isinstance(answer, tuple):
                return answer
            try:
                await self.context.stop.until(answer)
            except Stopped:
                return "released", None, "worker stopped while waiting to retry"

    async def _once(self, claim: Claim, prepared: bytes) -> Verdict | None:
        """One try: the slot, a connection and the spacing, then the mark and the request.

        None when the row's lease went to another run meanwhile (not sent).
        """
        stop = self.context.stop
        if stop.is_set():
            raise Stopped
        loop = asyncio.get_running_loop()
        waiting_since = loop.time()
        await stop.first(self.limiter.before_send(claim.chat_id))
        record_rate_limit_wait(loop.time() - waiting_since)
        # Marked only once a connection is free and its spacing is over, so
        # the request leaves as soon as the mark is committed: a worker killed
        # between the two leaves as few rows in doubt as can be.
        async with await wires(self.api):
            paced = spacing(self.limiter)
            await paced.wait(self.limiter.rate)
            if stop.is_set():  # a pause came meanwhile: nothing has gone out
                raise Stopped
            if not await self.marks.start(claim):
                return None
            await paced.send(self.limiter.rate)
            return await self._request(claim, prepared)

    async def _request(self, claim: Claim, prepared: bytes) -> Verdict:
        # Marked until an answer came back: a cancel mid-request leaves the mark on.
        requesting = self.recorder.requesting
        requesting.add(claim.delivery_id)
        try:
            message_id = await self.api.send_json_message(prepared)
        except BotApiError:
            requesting.discard(claim.delivery_id)
            raise
        except Exception as error:  # the answer was lost or unreadable: maybe sent
            requesting.discard(claim.delivery_id)
            log.exception("broadcast %s: unexpected send error", self.context.broadcast_id)
            return "ambiguous", None, f"{type(error).__name__}: {error}"
        requesting.discard(claim.delivery_id)
        return "sent", message_id, None

    async def _refused(self, claim: Claim, error: BotApiError, tries: _Tries) -> Verdict | float:
        """What an error from the request means: an outcome, or seconds to wait and retry.

        Telegram answered and refused: certainly not sent. The mark goes back
        first, so a worker killed before the outcome is recorded leaves a row
        to send again (and be refused again), not one in doubt.
        """
        if isinstance(error, RetryAfter):
            self.marks.unstart(claim)
            tries.floods += 1
            await self.limiter.slow_down(error.retry_after)
            record_flood_wait(error.retry_after)
            if tries.floods >= MAX_FLOOD_TRIES:
                return "failed", None, f"flood control {tries.floods} times: {error.message}"
            record_broadcast_outcome("retried")
            return float(error.retry_after)
        if isinstance(error, Forbidden):
            self.marks.unstart(claim)
            return "blocked", None, error.message
        if isinstance(error, ServerError):
            self.marks.unstart(claim)
            return self._retry(error, tries)
        if isinstance(error, NetworkError):
            if not error.never_sent:
                return "ambiguous", None, error.message
            self.marks.unstart(claim)
            return self._retry(error, tries)
        if isinstance(error, Unauthorized):
            self.fatal = error
            self.context.stop.set()
            return "released", None, f"bot token refused: {error.message}"
        self.marks.unstart(claim)  # 400 "chat not found", 404, ...
        return "failed", None, error.message

    def _retry(self, error: BotApiError, tries: _Tries) -> Verdict | float:
        """A request certainly not taken: retry after a backoff, up to `max_tries` in all."""
        tries.failed += 1
        if tries.failed >= self.max_tries:
            return "failed", None, f"gave up after {tries.failed} tries: {error.message}"
        wait = _backoff(tries.failed)
        record_broadcast_outcome("retried")
        return wait


def _backoff(tries: int) -> float:
    return float(min(30.0, 0.5 * 2 ** (tries - 1)) * random.uniform(0.5, 1.0))
