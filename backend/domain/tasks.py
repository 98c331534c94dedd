"""Background work as the domain sees it: "run this later, somewhere".

Work that must not hold up a request (sending a broadcast, a bulk job, a
notification) is queued as a task by name with JSON arguments, through a
`TaskQueue`; the domain does not know the transport (`backend.task_queue`:
Taskiq over a Redis stream, or in the API process itself).

A task that depends on a transaction's rows is asked for *inside* that
transaction with `enqueue_after_commit`, and only sent once it has committed:
a worker that picks the task up must find the rows it refers to, and a
rolled-back transaction must leave no task behind. The transaction scopes of
`backend.task_queue.after_commit` open the session for such jobs and send
them after the commit; a session opened any other way refuses them, so a job
is never silently kept and forgotten. (A job asked for inside a savepoint is
sent even if the savepoint alone rolls back: ask outside savepoints.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class TaskQueue(Protocol):
    async def enqueue(self, task: str, **kwargs: object) -> str:
        """Queue `task` with JSON-serialisable keyword arguments; returns the job id."""
        ...

    async def enqueue_as(self, job_id: str, task: str, /, **kwargs: object) -> str:
        """`enqueue` under a job id chosen by the caller (a retry recorded before it leaves)."""
        ...


@dataclass(frozen=True)
class Job:
    """A task asked for in a transaction, waiting for its commit; `job_id` if chosen here."""

    task: str
    kwargs: dict[str, object]
    job_id: str | None = None


# Tasks whose work the database still shows when their message is lost (an enqueue
# that failed after the commit, a Redis restarted empty): the workers' sweep resumes a
# broadcast left "sending" (`broadcasts.orphaned`), the every-minute run sends a
# pending notification (`notifications.due`), and is itself `deliver_due_notifications`.
# Losing one costs a delay, not the work, so the request that asked for it succeeded:
# an error there would invite a retry of work already committed (a second bulk issue).
RECOVERED_BY_SWEEP = frozenset(
    {"process_broadcast", "send_planned_notification", "deliver_due_notifications"}
)

_JOBS = "dvorik.jobs_after_commit"


def collect_jobs(session: AsyncSession) -> list[Job]:
    """Let `session` take jobs; returns the list they go to, for its scope to send."""
    jobs: list[Job] = session.info.setdefault(_JOBS, [])
    return jobs


def enqueue_after_commit(session: AsyncSession, task: str, /, **kwargs: object) -> None:
    """Send `task` once the transaction of `session` commits; never if it rolls back."""
    _jobs_of(session, task).append(_checked(task, kwargs))


def enqueue_after_commit_as(
    session: AsyncSession, job_id: str, task: str, /, **kwargs: object
) -> None:
    """`enqueue_after_commit` under `job_id`, so rows written now can name the job to come."""
    _jobs_of(session, task).append(_checked(task, kwargs, job_id))


def _jobs_of(session: AsyncSession, task: str) -> list[Job]:
    jobs: list[Job] | None = session.info.get(_JOBS)
    if jobs is None:
        raise RuntimeError(
            f"task {task!r} asked for in a transaction that sends no jobs after its commit"
        )
    return jobs


def _checked(task: str, kwargs: dict[str, object], job_id: str | None = None) -> Job:
    json.dumps(kwargs)  # TypeError now, in the transaction, for what a broker could not carry
    return Job(task, dict(kwargs), job_id)
