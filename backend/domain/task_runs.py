"""Background task runs as an owner sees them: queued, running, done or failed, and a retry.

The task monitor of the admin API (`taskRuns`, `taskStats`, `retryTaskRun`)
reads what this module writes. The brokers' middlewares report each step of a
run as it happens (`backend.task_queue.task_runs` when a task is sent,
`backend.workers.tasks.task_runs` when a worker starts and ends it), each in a
short transaction of its own. The steps come from different processes and
may arrive in any order (an embedded task can start before its "queued" is
written), so each write is an upsert keyed by the Taskiq task id: "queued"
only fills a row nobody wrote yet, "running" and the outcome overwrite.

What is kept is what an operator needs and nothing personal: the task's
name, times, the worker, how often a worker started it (a redelivery after a
worker died counts), the error's type and a scrubbed, shortened message. The
arguments are kept only for the tasks an owner may run again (`RETRYABLE`),
which take ids and settings, never a name or a code.

Rows are dropped after `TASK_RUNS_KEEP_DAYS` by the hourly clean-up
(`forget_old`), so the table stays bounded whatever the traffic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import CursorResult, Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import audit
from backend.domain.audit import Actor
from backend.domain.batched_deletes import delete_batch
from backend.domain.clock import in_supported_years
from backend.domain.dialects import insert_ignoring_duplicates
from backend.domain.errors import InvalidState, NotFound, NotRetryable, ValidationFailed
from backend.domain.models import TaskRun, TaskRunState
from backend.domain.tasks import enqueue_after_commit_as

# Tasks that may run twice with one effect, so an owner may send a failed one again
# with the same arguments (docs/task-monitor.md says why each is safe):
# - process_broadcast: the engine leases each delivery to one run, resumes where it was;
# - start_due_broadcasts: `send_now` locks the broadcast and starts it once;
# - send_planned_notification: the notification row is claimed once, a second run finds it done;
# - deliver_due_notifications: the same claim, for every due notification;
# - bulk_add_tags: adding and removing tags is idempotent, a job resumes after its last step;
# - bulk_issue_discount: only with its job (every job the API queues has one), which
#   resumes after its last committed step and does nothing once completed;
# - give_birthday_discounts: one birthday discount per customer and year (once_key);
# - expire_discounts, forget_old_records: UPDATEs and DELETEs of what is due.
# Not send_customer_notification: a greeting whose send failed midway may have arrived
# (a lost answer), nothing records that it did, and its context holds a name and a code.
RETRYABLE = frozenset(
    {
        "process_broadcast",
        "start_due_broadcasts",
        "send_planned_notification",
        "deliver_due_notifications",
        "bulk_add_tags",
        "bulk_issue_discount",
        "give_birthday_discounts",
        "expire_discounts",
        "forget_old_records",
    }
)
_NEEDS_JOB = frozenset({"bulk_issue_discount"})
ERROR_LENGTH = 500  # the column; longer messages are cut
FORGET_BATCH = 1000  # rows per clean-up transaction


@dataclass(frozen=True)
class Failure:
    """What a failed run leaves: the exception's class and a message fit to keep."""

    type: str
    message: str


@dataclass(frozen=True)
class TaskStats:
    """One task's runs queued since a moment, by state now, and how many end per minute."""

    task: str
    queued: int
    running: int
    succeeded: int
    failed: int
    runs_per_minute: float


def retryable(task: str, arguments: Mapping[str, Any] | None) -> bool:
    """Whether a run of `task` with these kept arguments may be sent again."""
    if task not in RETRYABLE or arguments is None:
        return False
    return task not in _NEEDS_JOB or bool(arguments.get("job_id"))


def kept_arguments(task: str, kwargs: Mapping[str, Any]) -> dict[str, Any] | None:
    """The arguments worth keeping: a retryable task's, nobody else's."""
    return dict(kwargs) if task in RETRYABLE else None


# --- Writing: each step of a run, in any order -------------------------------------------------


async def record_queued(
    session: AsyncSession,
    task_id: str,
    task: str,
    *,
    at: datetime,
    arguments: Mapping[str, Any] | None,
) -> None:
    """A task was sent. A row a worker already wrote (it was quicker) is left as it is."""
    await _insert_if_absent(
        session,
        task_id=task_id,
        task=task,
        state=TaskRunState.QUEUED,
        queued_at=at,
        attempts=0,
        arguments=kept_arguments(task, arguments or {}),
    )


async def record_started(
    session: AsyncSession,
    task_id: str,
    task: str,
    *,
    queued_at: datetime,
    at: datetime,
    worker: str,
    arguments: Mapping[str, Any] | None,
) -> None:
    """A worker started the task (again, after a redelivery: `attempts` grows)."""
    await _upsert(
        session,
        task_id,
        changes={
            "state": TaskRunState.RUNNING,
            "started_at": at,
            "finished_at": None,
            "error_type": None,
            "error": None,
            "worker": worker[:128],
            "attempts": TaskRun.attempts + 1,
        },
        row={
            "task": task,
            "state": TaskRunState.RUNNING,
            "queued_at": queued_at,
            "started_at": at,
            "attempts": 1,
            "worker": worker[:128],
            "arguments": kept_arguments(task, arguments or {}),
        },
    )


async def record_finished(
    session: AsyncSession,
    task_id: str,
    task: str,
    *,
    queued_at: datetime,
    started_at: datetime,
    at: datetime,
    worker: str,
    arguments: Mapping[str, Any] | None,
    failure: Failure | None,
) -> None:
    """The task ended: succeeded, or failed with `failure`."""
    outcome: dict[str, Any] = {
        "state": TaskRunState.FAILED if failure else TaskRunState.SUCCEEDED,
        "finished_at": at,
        "error_type": failure.type[:128] if failure else None,
        "error": failure.message[:ERROR_LENGTH] if failure else None,
    }
    row = {
        "task": task,
        "queued_at": queued_at,
        "started_at": started_at,
        "attempts": 1,
        "worker": worker[:128],
        "arguments": kept_arguments(task, arguments or {}),
        **outcome,
    }
    await _upsert(session, task_id, changes=outcome, row=row)


async def _upsert(
    session: AsyncSession, task_id: str, *, changes: dict[str, Any], row: dict[str, Any]
) -> None:
    """Change the run's row, or write it whole if there is none yet.

    An insert that finds a row after all (written meanwhile by another
    process) falls back to the change, so whichever comes first, the later
    step wins.
    """
    if await _change(session, task_id, changes):
        return
    if await _insert_if_absent(session, task_id=task_id, **row):
        return
    await _change(session, task_id, changes)


async def _change(session: AsyncSession, task_id: str, changes: dict[str, Any]) -> bool:
    result = await session.execute(
        update(TaskRun).where(TaskRun.task_id == task_id).values(**changes)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount > 0


async def _insert_if_absent(session: AsyncSession, **values: Any) -> bool:
    """One statement, no error on a duplicate task id (as `telegram_updates.first_time`)."""
    result = await session.execute(
        insert_ignoring_duplicates(TaskRun, session.get_bind().dialect.name).values(**values)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


# --- Reading ---------------------------------------------------------------------------------


def listing(*, task: str | None = None, state: TaskRunState | None = None) -> Select[TaskRun]:
    """The runs for which every filter given holds (the API pages them newest first)."""
    query = select(TaskRun)
    if task is not None:
        query = query.where(TaskRun.task == task)
    if state is not None:
        query = query.where(TaskRun.state == state)
    return query


async def stats(session: AsyncSession, *, since: datetime, now: datetime) -> list[TaskStats]:
    """Per task: runs queued since `since` by their state now, and runs ended per minute.

    The rate is the runs that ended (succeeded or failed) from `since` to
    `now`, divided by the minutes between them (at least one).
    """
    if since.tzinfo is None or not in_supported_years(since):
        raise ValidationFailed("since needs a time zone offset", field="since")
    if since >= now:
        raise ValidationFailed("since must be in the past", field="since")
    counts: dict[str, dict[TaskRunState, int]] = {}
    by_state = (
        select(TaskRun.task, TaskRun.state, func.count())
        .where(TaskRun.queued_at >= since)
        .group_by(TaskRun.task, TaskRun.state)
    )
    for task, state, count in await session.execute(by_state):
        counts.setdefault(task, {})[state] = int(count)
    ended = (
        select(TaskRun.task, func.count())
        .where(TaskRun.finished_at >= since, TaskRun.finished_at <= now)
        .group_by(TaskRun.task)
    )
    finished = {task: int(count) for task, count in await session.execute(ended)}
    minutes = max((now - since).total_seconds() / 60, 1.0)
    return [
        TaskStats(
            task=task,
            queued=counts.get(task, {}).get(TaskRunState.QUEUED, 0),
            running=counts.get(task, {}).get(TaskRunState.RUNNING, 0),
            succeeded=counts.get(task, {}).get(TaskRunState.SUCCEEDED, 0),
            failed=counts.get(task, {}).get(TaskRunState.FAILED, 0),
            runs_per_minute=round(finished.get(task, 0) / minutes, 3),
        )
        for task in sorted(counts.keys() | finished.keys())
    ]


# --- An owner's retry ------------------------------------------------------------------------


async def retry(session: AsyncSession, run_id: int, *, actor: Actor, now: datetime) -> TaskRun:
    """Send a failed run's task again with its arguments, as a new run; returns that run.

    The failed run is locked and marked `retried_as` the new one, so a second
    click (or a second owner) is INVALID_STATE instead of a second run; the
    new run is written "queued" and its task sent after the commit, under its
    id. Refused: a task not safe to run twice (NOT_RETRYABLE), a run that did
    not fail or was retried already (INVALID_STATE).
    """
    found = await session.scalars(
        select(TaskRun)
        .where(TaskRun.id == run_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    run = found.first()
    if run is None:
        raise NotFound(f"task run {run_id} does not exist", entity="task_run")
    if not retryable(run.task, run.arguments):
        raise NotRetryable(f"{run.task} is not safe to run again", task=run.task)
    if run.state is not TaskRunState.FAILED:
        raise InvalidState(f"task run {run_id} is {run.state.value}", status=run.state.value)
    if run.retried_as is not None:
        raise InvalidState(f"task run {run_id} was retried already", status="retried")
    arguments = dict(run.arguments or {})
    again = TaskRun(
        task_id=uuid4().hex,
        task=run.task,
        state=TaskRunState.QUEUED,
        queued_at=now,
        attempts=0,
        arguments=arguments,
        retry_of=run.task_id,
    )
    session.add(again)
    run.retried_as = again.task_id
    await audit.record(
        session,
        actor,
        "task_run.retry",
        "task_run",
        run.id,
        before={"task": run.task, "task_id": run.task_id, "state": run.state},
        after={"retried_as": again.task_id},
    )
    enqueue_after_commit_as(session, again.task_id, run.task, **arguments)
    await session.flush()
    return again


# --- Keeping the table bounded ---------------------------------------------------------------


async def forget_old(
    session: AsyncSession, *, now: datetime, keep: timedelta, limit: int = FORGET_BATCH
) -> int:
    """Drop up to `limit` runs queued longer than `keep` ago; returns how many.

    Short transactions that hold up no run being recorded meanwhile
    (`batched_deletes`).
    """
    return await delete_batch(session, TaskRun.id, TaskRun.queued_at < now - keep, limit=limit)
