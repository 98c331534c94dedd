"""The task monitor in the admin API, for owners: runs, per-task figures, a retry.

What Flower would show operators, on the data `backend.domain.task_runs`
records from the brokers: `taskRuns` lists runs newest first (queued,
running, succeeded, failed with the error's type and a scrubbed message),
`taskStats(since)` counts them per task with the rate they end at, and
`retryTaskRun(id)` sends a failed run's task again with the same arguments,
only for tasks safe to run twice (NOT_RETRYABLE otherwise), audit-logged.
docs/task-monitor.md says why this is ours and not taskiq-dashboard.
"""

import datetime as dt

import strawberry
from strawberry.types import Info

from backend.domain import models, pagination, task_runs
from backend.domain.models import TaskRun as TaskRunRow
from backend.graphql.mapping import copied
from backend.graphql.pagination import Connection, connection, decode_cursor
from backend.graphql.permissions import allow
from backend.graphql.scalars import TaskRunState, require_aware, to_api, to_domain

ORDERING = pagination.Ordering(TaskRunRow.id, TaskRunRow.id, pagination.Direction.DESC)


@strawberry.type(description="One background task sent to the queue, and what became of it.")
class TaskRun:
    id: int
    task_id: str = strawberry.field(description="Taskiq's task id (in the workers' logs).")
    task: str = strawberry.field(description='The task\'s name, e.g. "process_broadcast".')
    state: TaskRunState
    queued_at: dt.datetime
    started_at: dt.datetime | None = strawberry.field(description="When a worker last started it.")
    finished_at: dt.datetime | None
    attempts: int = strawberry.field(
        description="Times a worker started it: over 1 after a worker died and another took over."
    )
    worker: str | None = strawberry.field(description="host:pid of the worker that ran it last.")
    error_type: str | None = strawberry.field(description="The exception's class, if it failed.")
    error: str | None = strawberry.field(
        description="The exception's message, scrubbed of personal data and cut to 500 characters."
    )
    retryable: bool = strawberry.field(
        description="Whether its task is safe to run again (`retryTaskRun`, once it failed)."
    )
    retry_of: str | None = strawberry.field(description="The task id of the run this retried.")
    retried_as: str | None = strawberry.field(description="The task id of the retry of this run.")

    @classmethod
    def of(cls, row: TaskRunRow) -> "TaskRun":
        return copied(
            cls,
            row,
            state=to_api(TaskRunState, row.state),
            retryable=task_runs.retryable(row.task, row.arguments),
        )


@strawberry.input(description="Runs for which every condition given holds.")
class TaskRunFilter:
    task: str | None = None
    state: TaskRunState | None = None


@strawberry.type(description="One task's runs queued since a moment, by their state now.")
class TaskStats:
    task: str
    queued: int
    running: int
    succeeded: int
    failed: int
    runs_per_minute: float = strawberry.field(
        description="Runs that ended (succeeded or failed) since then, per minute."
    )


@strawberry.type
class TaskRunQueries:
    @strawberry.field(permission_classes=allow("Query.taskRuns"), description="Newest first.")
    async def task_runs(
        self,
        info: Info,
        filter: TaskRunFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[TaskRun]:
        query = task_runs.listing(
            task=filter.task if filter else None,
            state=to_domain(models.TaskRunState, filter.state if filter else None),
        )
        session = await info.context.session()
        page = await pagination.keyset_page(
            session, query, ORDERING, first=first, after=decode_cursor(after, ORDERING)
        )

        async def total() -> int:
            return await pagination.count(session, query)

        return connection(page, TaskRun.of, total)

    @strawberry.field(
        permission_classes=allow("Query.taskStats"),
        description="Per task (by name), the runs queued since `since` and how fast they end.",
    )
    async def task_stats(self, info: Info, since: dt.datetime) -> list[TaskStats]:
        moment = require_aware(since, "since")
        assert moment is not None
        session = await info.context.session()
        figures = await task_runs.stats(session, since=moment, now=info.context.now())
        return [TaskStats(**vars(figure)) for figure in figures]


@strawberry.type
class TaskRunMutations:
    @strawberry.mutation(
        permission_classes=allow("Mutation.retryTaskRun"),
        description="Send a failed run's task again with the same arguments; returns the new"
        " run. NOT_RETRYABLE for a task not safe to run twice, INVALID_STATE for a run that"
        " did not fail or was retried already.",
    )
    async def retry_task_run(self, info: Info, id: int) -> TaskRun:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            again = await task_runs.retry(session, id, actor=actor, now=info.context.now())
            return TaskRun.of(again)


ROOTS = {"query": TaskRunQueries, "mutation": TaskRunMutations}
