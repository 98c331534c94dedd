"""Background bulk jobs: a row per job with its state and progress, work done in steps.

`bulkTagCustomers` and `bulkIssueDiscount` above the shop's threshold run in
the background and answer with a job id at once; the admin then watches the
job (`job(id)`, `jobs`, `jobProgress`). So the job is written (`create`,
state "queued") in the same transaction that decides to queue it, with an id
made here, and the worker runs it with `run_in_steps`: the customers in
slices of `STEP`, each slice one transaction that also moves `done`. Readers
see progress as it commits, never work that rolled back; a task delivered
twice (the broker redelivers when a worker dies) resumes after the last
committed slice instead of giving everyone a second discount; a slice that
fails marks the job "failed" with the error's kind, and the slices before it
stay done (their audit lines say so).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from functools import partial
from uuid import uuid4

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain.batched_deletes import delete_batch
from backend.domain.clock import utcnow
from backend.domain.database import run_in_transaction
from backend.domain.errors import NotFound
from backend.domain.models.jobs import BulkJob, JobState

FORGET_BATCH = 1000  # finished jobs dropped per transaction by `forget_finished`
STEP = 200  # customers per transaction: progress moves every step, locks stay short
TERMINAL = frozenset({JobState.COMPLETED, JobState.FAILED})

Step = Callable[[AsyncSession, Sequence[int]], Awaitable[int]]


def new_key() -> str:
    return uuid4().hex


async def create(
    session: AsyncSession, kind: str, total: int, *, admin_id: int | None, now: datetime
) -> BulkJob:
    """A queued job over `total` customers; enqueue its task after this commits."""
    job = BulkJob(
        key=new_key(),
        kind=kind,
        state=JobState.QUEUED,
        total=total,
        done=0,
        created_by_admin_id=admin_id,
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    await session.flush()
    return job


async def find(session: AsyncSession, key: str) -> BulkJob | None:
    result = await session.scalars(select(BulkJob).where(BulkJob.key == key))
    return result.first()


async def _locked(session: AsyncSession, key: str) -> BulkJob:
    result = await session.scalars(
        select(BulkJob)
        .where(BulkJob.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    job = result.first()
    if job is None:
        raise NotFound(f"job {key} does not exist", entity="job")
    return job


async def run_in_steps(
    sessions: async_sessionmaker[AsyncSession],
    key: str,
    customer_ids: Sequence[int],
    step: Step,
    *,
    size: int = STEP,
) -> int:
    """Do `step` over `customer_ids` slice by slice, each with its progress; returns the total.

    `step(session, ids)` does the work for a slice inside that slice's
    transaction. Already completed: nothing is done again.
    """

    async def begin(session: AsyncSession) -> tuple[JobState, int]:
        job = await _locked(session, key)
        if job.state not in TERMINAL:
            now = utcnow()
            job.state, job.total, job.error = JobState.RUNNING, len(customer_ids), None
            job.started_at = job.started_at or now
            job.updated_at = now
        return job.state, job.done

    state, done = await run_in_transaction(sessions, begin)
    if state is JobState.COMPLETED:
        return done

    async def advance(session: AsyncSession) -> tuple[int, int]:
        # The slice starts at the committed `done`, read under the row lock: a second
        # run of this task goes on where the first left off, never over the same ids.
        job = await _locked(session, key)
        part = list(customer_ids[job.done : job.done + size])
        count = await step(session, part) if part else 0
        job.done += len(part)
        job.updated_at = utcnow()
        return count, job.done

    affected = 0
    try:
        while True:
            count, done = await run_in_transaction(sessions, advance)
            affected += count
            if done >= len(customer_ids):
                break
    except Exception as error:
        await run_in_transaction(sessions, partial(_finish, key=key, error=error))
        raise
    await run_in_transaction(sessions, lambda session: _finish(session, key, None))
    return affected


async def _finish(session: AsyncSession, key: str, error: Exception | None) -> None:
    job = await _locked(session, key)
    now = utcnow()
    job.state = JobState.FAILED if error else JobState.COMPLETED
    job.error = type(error).__name__ if error else None
    job.finished_at = job.updated_at = now


def listing() -> Select[tuple[BulkJob]]:
    """Every job (the API pages it newest first)."""
    return select(BulkJob)


async def forget_finished(
    session: AsyncSession, *, before: datetime, limit: int = FORGET_BATCH
) -> int:
    """Drop up to `limit` jobs that finished before `before`; how many went.

    A finished job is only its outcome, shown in the admin's job list; the
    work it did (tags, discounts) and its audit lines stay. Queued and
    running jobs are never touched, however old: a worker may still resume one.
    """
    return await delete_batch(
        session, BulkJob.id, BulkJob.state.in_(TERMINAL), BulkJob.finished_at < before, limit=limit
    )
