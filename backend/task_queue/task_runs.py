"""Recording task runs for the task monitor, without ever holding up a task or its sender.

Every broker a process sends through carries `QueuedRuns`: it stamps each
message with the moment it was sent (a label the worker reads back) and
writes the run "queued" (`backend.domain.task_runs`). The worker's side
(started, succeeded, failed) is `backend.workers.tasks.task_runs`.

The writes go through `RunWrites`: in the background, each bounded by
`WRITE_TIMEOUT`, at most `MAX_PENDING` at once. A database that is down or
slow costs the monitor some rows, never a task or a request: a failed write
is logged once per outage and dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq import TaskiqMessage, TaskiqMiddleware

from backend.domain import task_runs
from backend.domain.clock import utcnow
from backend.domain.database import run_in_transaction

log = logging.getLogger("dvorik.tasks")

QUEUED_AT = "dvorik_queued_at"  # label: when the task was sent (ISO 8601, UTC)
WRITE_TIMEOUT = 5.0  # one record's longest try; then it is dropped
MAX_PENDING = 1000  # records on their way at once; more are dropped (the database lags)
DRAIN_SECONDS = 5.0  # how long a stopping broker waits for records on their way


class RunWrites:
    """Writes of run records in the background, each one given up on rather than waited for."""

    def __init__(self) -> None:
        self.pending: set[asyncio.Task[None]] = set()
        self.failing = False

    def spawn(
        self, write: Callable[[], Awaitable[Any]], *, after: asyncio.Task[None] | None = None
    ) -> asyncio.Task[None] | None:
        """Start `write` (once `after` has ended, so a run's steps land in order)."""
        if len(self.pending) >= MAX_PENDING:
            self._failed(OverflowError(f"{MAX_PENDING} task run records already waiting"))
            return None
        running = asyncio.create_task(self._write(write, after))
        self.pending.add(running)
        running.add_done_callback(self.pending.discard)
        return running

    async def _write(
        self, write: Callable[[], Awaitable[Any]], after: asyncio.Task[None] | None
    ) -> None:
        if after is not None:
            await asyncio.wait({after})
        try:
            async with asyncio.timeout(WRITE_TIMEOUT):
                await write()
        except Exception as error:
            self._failed(error)
            return
        if self.failing:
            self.failing = False
            log.warning("task runs are recorded again")

    def _failed(self, error: BaseException) -> None:
        if not self.failing:
            log.warning("could not record a task run, tasks go on unrecorded: %r", error)
        self.failing = True

    async def drain(self, seconds: float = DRAIN_SECONDS) -> None:
        """Wait a while for the records on their way (a stopping process)."""
        if self.pending:
            await asyncio.wait(set(self.pending), timeout=seconds)


def queued_at(message: TaskiqMessage) -> datetime | None:
    """When the message was sent, as its sender stamped it (None: not stamped, or garbled)."""
    stamp = message.labels.get(QUEUED_AT)
    try:
        moment = datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


class QueuedRuns(TaskiqMiddleware):
    """The sending side: each task sent is stamped and recorded as a run "queued"."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions
        self.writes = RunWrites()

    def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
        if QUEUED_AT not in message.labels:
            message.labels = {**message.labels, QUEUED_AT: utcnow().isoformat()}
        return message

    def post_send(self, message: TaskiqMessage) -> None:
        at = queued_at(message) or utcnow()
        task_id, task, kwargs = message.task_id, message.task_name, dict(message.kwargs)

        async def record(session: AsyncSession) -> None:
            await task_runs.record_queued(session, task_id, task, at=at, arguments=kwargs)

        self.writes.spawn(lambda: run_in_transaction(self.sessions, record))

    async def shutdown(self) -> None:
        await self.writes.drain()
