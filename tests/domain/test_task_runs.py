"""A task run's steps come from different processes in any order; the row ends as the run did.

And which runs an owner may send again: only those of tasks safe to run twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import task_runs
from backend.domain.clock import utcnow
from backend.domain.database import run_in_transaction
from backend.domain.models import TaskRun, TaskRunState
from backend.domain.task_runs import Failure

QUEUED = utcnow() - timedelta(minutes=3)
STARTED = QUEUED + timedelta(minutes=1)
FINISHED = STARTED + timedelta(minutes=1)


async def the_run(sessions: async_sessionmaker[AsyncSession], task_id: str) -> TaskRun:
    async with sessions() as session:
        run = await session.scalar(select(TaskRun).where(TaskRun.task_id == task_id))
        assert run is not None
        return run


Step = Callable[[AsyncSession, str], Awaitable[None]]


async def steps(sessions: async_sessionmaker[AsyncSession], task_id: str, *done: Step) -> None:
    """Each step of the run in its own transaction, as the processes write them."""
    for step in done:

        async def one(session: AsyncSession, step: Step = step) -> None:
            await step(session, task_id)

        await run_in_transaction(sessions, one)


async def queued(session: AsyncSession, task_id: str) -> None:
    await task_runs.record_queued(
        session, task_id, "process_broadcast", at=QUEUED, arguments={"broadcast_id": 7}
    )


async def started(session: AsyncSession, task_id: str) -> None:
    await task_runs.record_started(
        session,
        task_id,
        "process_broadcast",
        queued_at=QUEUED,
        at=STARTED,
        worker="host:1",
        arguments={"broadcast_id": 7},
    )


async def failed(session: AsyncSession, task_id: str) -> None:
    await task_runs.record_finished(
        session,
        task_id,
        "process_broadcast",
        queued_at=QUEUED,
        started_at=STARTED,
        at=FINISHED,
        worker="host:1",
        arguments={"broadcast_id": 7},
        failure=Failure("TelegramNetworkError", "timed out"),
    )


async def test_a_queued_step_arriving_last_leaves_the_outcome_as_it_is(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # The embedded broker ran it before its "queued" landed.
    await steps(sessions, "a1", started, failed, queued)

    run = await the_run(sessions, "a1")
    assert (run.state, run.attempts, run.error_type) == (
        TaskRunState.FAILED,
        1,
        "TelegramNetworkError",
    )
    assert (run.queued_at, run.started_at, run.finished_at) == (QUEUED, STARTED, FINISHED)
    assert run.arguments == {"broadcast_id": 7}


async def test_an_outcome_without_its_start_is_a_whole_run_and_a_redelivery_counts(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await steps(sessions, "b1", failed)
    lone = await the_run(sessions, "b1")
    assert (lone.state, lone.attempts, lone.started_at) == (TaskRunState.FAILED, 1, STARTED)

    await steps(sessions, "b2", queued, started, started)  # a worker died; another took over
    again = await the_run(sessions, "b2")
    assert (again.state, again.attempts, again.finished_at) == (TaskRunState.RUNNING, 2, None)


def test_only_tasks_safe_to_run_twice_are_retryable_and_only_they_keep_arguments() -> None:
    assert task_runs.retryable("process_broadcast", {"broadcast_id": 7})
    assert task_runs.retryable("expire_discounts", {})
    assert not task_runs.retryable("process_broadcast", None)  # arguments not kept
    assert task_runs.retryable("bulk_issue_discount", {"job_id": "k", "customer_ids": [1]})
    assert not task_runs.retryable("bulk_issue_discount", {"customer_ids": [1]})  # no job
    greeting = {"customer_id": 1, "context": {"first_name": "Зоя", "code": "9R7ZME7T"}}
    assert not task_runs.retryable("send_customer_notification", greeting)
    assert task_runs.kept_arguments("send_customer_notification", greeting) is None
    assert task_runs.kept_arguments("bulk_add_tags", {"add": ["vip"]}) == {"add": ["vip"]}
