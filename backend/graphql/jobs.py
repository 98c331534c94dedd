"""Background bulk jobs in the admin API: one job, the list, and live progress.

`bulkTagCustomers` and `bulkIssueDiscount` answer `jobId` when they run in
the background; `job(id)` says where it stands, `jobProgress(id)` streams it.
Progress is committed with each step of the work (`backend.domain.jobs`), so
the subscription reads the job's row: the current state at once, then each
change, every `POLL_SECONDS`, until it is completed or failed. One primary-key
read per viewer per interval, from whichever process (API or worker) runs the
job, with no message that could be lost on the way.
"""

import asyncio
import datetime as dt
from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from backend.domain import jobs, models, pagination
from backend.domain.errors import NotFound
from backend.domain.models import BulkJob
from backend.graphql.mapping import copied
from backend.graphql.pagination import Connection, connection, decode_cursor
from backend.graphql.permissions import allow
from backend.graphql.scalars import JobState, to_api, to_domain
from backend.runtime import Runtime

ORDERING = pagination.Ordering(BulkJob.id, BulkJob.id, pagination.Direction.DESC)
POLL_SECONDS = 0.5


@strawberry.type(description="A bulk action running in the background: `done` of `total`.")
class Job:
    id: str = strawberry.field(description="The `jobId` the bulk mutation answered.")
    kind: str = strawberry.field(description='"bulk_add_tags" or "bulk_issue_discount".')
    state: JobState
    total: int = strawberry.field(description="Customers selected.")
    done: int = strawberry.field(description="Customers handled, committed.")
    error: str | None = strawberry.field(description="Why it failed (the error's kind).")
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @classmethod
    def of(cls, row: BulkJob) -> "Job":
        return copied(cls, row, id=row.key, state=to_api(JobState, row.state))


async def _read(runtime: Runtime, key: str) -> Job | None:
    async with runtime.read_sessions() as session:  # short-lived: sees each new commit
        row = await jobs.find(session, key)
        return Job.of(row) if row else None


@strawberry.type
class JobQueries:
    @strawberry.field(permission_classes=allow("Query.job"))
    async def job(self, info: Info, id: str) -> Job | None:
        session = await info.context.session()
        row = await jobs.find(session, id)
        return Job.of(row) if row else None

    @strawberry.field(permission_classes=allow("Query.jobs"), description="Newest first.")
    async def jobs(self, info: Info, first: int = 50, after: str | None = None) -> Connection[Job]:
        query = jobs.listing()
        session = await info.context.session()
        page = await pagination.keyset_page(
            session, query, ORDERING, first=first, after=decode_cursor(after, ORDERING)
        )

        async def total() -> int:
            return await pagination.count(session, query)

        return connection(page, Job.of, total)


@strawberry.type
class JobSubscriptions:
    @strawberry.subscription(
        permission_classes=allow("Subscription.jobProgress"),
        description="The job as it is, then each change, until it is completed or failed.",
    )
    async def job_progress(self, info: Info, id: str) -> AsyncGenerator[Job, None]:
        runtime: Runtime = info.context.runtime
        last = await _read(runtime, id)
        if last is None:
            raise NotFound(f"job {id} does not exist", entity="job")
        yield last
        while to_domain(models.JobState, last.state) not in jobs.TERMINAL:
            await asyncio.sleep(POLL_SECONDS)
            current = await _read(runtime, id)
            if current is None:  # cannot happen: jobs are never deleted
                return
            if current != last:
                last = current
                yield current


ROOTS = {"query": JobQueries, "subscription": JobSubscriptions}
