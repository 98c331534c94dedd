"""The embedded task queue: runs known tasks as asyncio tasks in this process.

With no Redis configured, `dvorik serve` is the whole system, so enqueued
work must still happen. Tasks without a handler here (the broadcast engine's,
until it lands) stay recorded and are logged, never silently dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain.tasks import RecordingTaskQueue
from backend.workers import bulk_tasks

log = logging.getLogger("dvorik.tasks")

Handler = Callable[..., Awaitable[Any]]
HANDLERS: dict[str, Handler] = {
    "bulk_add_tags": bulk_tasks.bulk_add_tags,
    "bulk_issue_discount": bulk_tasks.bulk_issue_discount,
}


class InProcessTaskQueue(RecordingTaskQueue):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions
        self.running: set[asyncio.Task[Any]] = set()
        self.results: dict[str, Any] = {}

    async def enqueue(self, task: str, **kwargs: object) -> str:
        job_id = await super().enqueue(task, **kwargs)
        handler = HANDLERS.get(task)
        if handler is None:
            log.warning("no in-process handler for task %s (job %s): recorded only", task, job_id)
            return job_id
        running = asyncio.create_task(self._run(job_id, task, handler, kwargs))
        self.running.add(running)
        running.add_done_callback(self.running.discard)
        return job_id

    async def _run(self, job_id: str, task: str, handler: Handler, kwargs: dict[str, Any]) -> None:
        try:
            self.results[job_id] = await handler(self.sessions, **kwargs)
        except Exception:
            log.exception("task %s (job %s) failed", task, job_id)
            self.results[job_id] = None

    async def drain(self) -> None:
        """Wait for every running job (shutdown, tests)."""
        while self.running:
            await asyncio.gather(*list(self.running), return_exceptions=True)
