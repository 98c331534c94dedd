"""Bulk customer actions too large to finish inside one API request.

Each goes through the same domain functions the API uses inline, so a
background job and an inline call change the same things and leave the same
audit lines. With a `job_id` (every job the API queues has one) the work runs
in steps that commit the job's progress with them (`jobs.run_in_steps`):
readers see it move, and a task delivered twice resumes instead of redoing.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import bulk, discounts, jobs
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.database import run_in_transaction
from backend.domain.models import DiscountKind
from backend.runtime import Runtime
from backend.workers.tasks.state import WorkerRuntime


async def _in_steps(
    runtime: Runtime, customer_ids: list[int], job_id: str | None, step: jobs.Step
) -> int:
    """The job's steps, committed as they go; without a job, one transaction."""
    if job_id is not None:
        return await jobs.run_in_steps(runtime.sessions, job_id, customer_ids, step)
    return await run_in_transaction(runtime.sessions, lambda session: step(session, customer_ids))


def _actor(admin_id: int | None) -> Actor:
    return Actor.admin(admin_id) if admin_id else Actor.system("bulk")


async def bulk_add_tags(
    runtime: WorkerRuntime,
    customer_ids: list[int],
    add: list[str],
    remove: list[str],
    admin_id: int | None,
    job_id: str | None = None,
) -> int:
    actor = _actor(admin_id)

    async def step(session: AsyncSession, ids: Sequence[int]) -> int:
        return await bulk.tag_customers(session, ids, add=add, remove=remove, actor=actor)

    return await _in_steps(runtime, customer_ids, job_id, step)


async def bulk_issue_discount(
    runtime: WorkerRuntime,
    customer_ids: list[int],
    kind: str,
    reason: str,
    percent: int | None,
    valid_days: int | None,
    admin_id: int | None,
    job_id: str | None = None,
) -> int:
    actor = _actor(admin_id)
    request = discounts.IssueRequest(
        DiscountKind(kind), percent=percent, valid_days=valid_days, reason=reason
    )

    async def step(session: AsyncSession, ids: Sequence[int]) -> int:
        return await bulk.issue_to_customers(session, ids, request, actor=actor, now=utcnow())

    issued = await _in_steps(runtime, customer_ids, job_id, step)
    # The notices are committed: send them now, at the shared rate, not at the next minute.
    await runtime.tasks.enqueue("deliver_due_notifications")
    return issued
