"""Transactions that send the jobs they ask for once they have committed.

The one place where a job meets its transaction (as in Polar's
`worker/_enqueue.py`): work inside `transaction` or `run_in_transaction` asks
for a task with `backend.domain.tasks.enqueue_after_commit(session, ...)`;
the task is sent right after the COMMIT, and dropped with a rollback (or with
a failed attempt that `run_in_transaction` retries).

A job that cannot be sent after the commit (Redis down) is logged. Most are
then raised to the caller, who committed and should hear of it; a task whose
work a sweep finds again (`RECOVERED_BY_SWEEP`) is only logged, so the caller
goes on as after a success: its work waits for the sweep, not for a retry.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import database
from backend.domain.tasks import RECOVERED_BY_SWEEP, Job, TaskQueue, collect_jobs

log = logging.getLogger("dvorik.tasks")
T = TypeVar("T")


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession], queue: TaskQueue
) -> AsyncIterator[AsyncSession]:
    """A write transaction (commits on success, rolls back on error); then its jobs."""
    async with sessions() as session:
        jobs = collect_jobs(session)
        async with session.begin():
            yield session
        await send(queue, jobs)


async def run_in_transaction(
    sessions: async_sessionmaker[AsyncSession],
    queue: TaskQueue,
    work: Callable[[AsyncSession], Awaitable[T]],
) -> T:
    """`backend.domain.database.run_in_transaction`, then the jobs of the attempt that committed."""
    committed: list[Job] = []

    async def attempt(session: AsyncSession) -> T:
        jobs = collect_jobs(session)
        result = await work(session)
        committed[:] = jobs  # a later attempt (this one failed to commit) replaces them
        return result

    result = await database.run_in_transaction(sessions, attempt)
    await send(queue, committed)
    return result


async def send(queue: TaskQueue, jobs: Sequence[Job]) -> None:
    """Send committed jobs in order; every one is tried, the first lost one is raised."""
    lost: Exception | None = None
    for job in jobs:
        try:
            if job.job_id is None:
                await queue.enqueue(job.task, **job.kwargs)
            else:
                await queue.enqueue_as(job.job_id, job.task, **job.kwargs)
        except Exception as error:
            swept = job.task in RECOVERED_BY_SWEEP
            log.warning(
                "task %s %s not queued after its commit (%s): %r",
                job.task,
                job.kwargs,
                "a sweep does its work later" if swept else "lost",
                error,
            )
            if not swept and lost is None:
                lost = error
    if lost is not None:
        raise lost
