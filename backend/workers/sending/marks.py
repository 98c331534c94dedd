"""The one writer of a run's marks: starts, unstarts, sends and lease renewals, in waves.

A row is in doubt while it is marked started (`deliveries.start_sending`),
so its mark must commit just before its request leaves, and a hundred marks
a second must not cost a hundred transactions: whatever the deliveries ask
while one transaction runs goes in the next (`deliveries.update_marks`).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import deliveries
from backend.domain.deliveries import Claim, Outcome


class Marks:
    """The one writer of a run's marks: renewals, sends, unstarts and starts, in waves.

    Deliveries due now ask `start`; whatever has queued up while the previous
    transaction ran goes in the next one, so a mark costs one UPDATE per wave,
    commits just before its requests go out, and marks of one row always
    commit in the order they were asked for. `leases` maps each claim's lease
    to its current marker after renewals.

    Messages Telegram accepted are recorded in the next wave too
    (`record_sent`), not with the other results every `FLUSH_EVERY`: a row is
    in doubt while it is marked started, and a worker killed then leaves it
    "ambiguous", so the sooner its send is recorded the fewer such rows.
    `recorded` is told what was written; what could not be goes to `unrecorded`
    (the run's flush tries again).
    """

    def __init__(
        self,
        tx: Callable[[Callable[[AsyncSession], Awaitable[Any]]], Awaitable[Any]],
        clock: Callable[[], datetime],
        recorded: Callable[[list[Outcome]], None],
        unrecorded: Callable[[list[Outcome]], None],
    ):
        self.tx = tx
        self.clock = clock
        self.recorded = recorded
        self.unrecorded = unrecorded
        self.starts: list[tuple[Claim, asyncio.Future[bool]]] = []
        self.unstarts: list[Claim] = []
        self.sent: list[Outcome] = []
        self.renewal: tuple[datetime, dict[str, list[int]], asyncio.Future[None]] | None = None
        self.leases: dict[str, str] = {}
        self.writer: asyncio.Task[None] | None = None

    async def start(self, claim: Claim) -> bool:
        """True once the row is marked started; False if its lease went to someone else."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.starts.append((claim, future))
        self._wake()
        return await future

    def unstart(self, claim: Claim) -> None:
        self.unstarts.append(claim)
        self._wake()

    def record_sent(self, outcome: Outcome) -> None:
        self.sent.append(outcome)
        self._wake()

    async def renew(self, held: dict[str, list[int]], deadline: datetime) -> None:
        """Extend the leases of the rows `held` (by their claim's lease) to `deadline`."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.renewal = (deadline, held, future)
        self._wake()
        await future

    async def settle(self) -> None:
        """Wait until every queued mark is written (or failed)."""
        while self.writer is not None and not self.writer.done():
            await asyncio.shield(self.writer)

    def _wake(self) -> None:
        if self.writer is None or self.writer.done():
            self.writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        while self.starts or self.unstarts or self.renewal or self.sent:
            starts, self.starts = self.starts, []
            unstarts, self.unstarts = self.unstarts, []
            sent, self.sent = self.sent, []
            renewal, self.renewal = self.renewal, None
            leases, renewals = dict(self.leases), []
            if renewal is not None:
                deadline, held, _ = renewal
                for lease, ids in held.items():
                    current = leases.get(lease, lease)
                    leases[lease] = deliveries.renewed(current, deadline)
                    renewals.append(deliveries.Renewal(current, leases[lease], ids))
            waiting: list[asyncio.Future[Any]] = [future for _, future in starts]
            waiting += [renewal[2]] if renewal is not None else []
            try:
                started = await self.tx(
                    functools.partial(
                        deliveries.update_marks,
                        renew=renewals,
                        sent=sent,
                        unstart=unstarts,
                        start=[claim for claim, _ in starts],
                        leases=leases,
                        now=self.clock(),
                    )
                )
            except Exception as error:
                for future in waiting:
                    if not future.done():
                        future.set_exception(error)
                if sent:
                    self.unrecorded(sent)
                continue
            if sent:
                self.recorded(sent)
            self.leases = leases
            for claim, future in starts:
                if not future.done():
                    future.set_result(claim.delivery_id in started)
            if renewal is not None and not renewal[2].done():
                renewal[2].set_result(None)
