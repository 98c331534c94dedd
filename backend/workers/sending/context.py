"""What every part of one run shares: its broadcast, its transactions, its clock, its stop.

A run is split into parts (the main loop, the deliveries, the recording of
results, the chores beside them, the progress); each gets this one object
instead of the whole run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain.database import run_in_transaction
from backend.domain.models import BroadcastStatus
from backend.workers.sending.stopping import Stop

T = TypeVar("T")


@dataclass(eq=False)
class RunContext:
    sessions: async_sessionmaker[AsyncSession]
    broadcast_id: int
    worker_id: str  # names this worker in the leases (for people reading the table)
    lease: timedelta  # how long a dead run's rows wait before they are settled
    zone: tzinfo
    clock: Callable[[], datetime]
    stop: Stop = field(default_factory=Stop)
    status: BroadcastStatus = BroadcastStatus.SENDING  # the broadcast's, as last seen

    async def tx(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """One transaction, shielded: a cancel lets it finish (or roll back) in the background.

        A transaction cut off halfway would leave its connection (and on
        SQLite the write lock) behind, and the run's way out needs the database next.
        """
        return await asyncio.shield(run_in_transaction(self.sessions, work))

    def halt(self, status: BroadcastStatus) -> None:
        """The broadcast is no longer "sending" (paused, cancelled, ended): stop the run."""
        self.status = status
        self.stop.set()
