"""Bulk customer actions too large to finish inside one API request.

Each handler goes through the same domain functions the API uses inline, so
a background job and an inline call change the same things and leave the
same audit lines. With a `job_id` (every job the API queues has one) the work
runs in steps that commit the job's progress with them (`jobs.run_in_steps`):
readers see it move, and a task delivered twice resumes instead of redoing.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import bulk, discounts, jobs
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.database import run_in_transaction
from backend.domain.models import DiscountKind


async def bulk_add_tags(
    sessions: async_sessionmaker[AsyncSession],
    *,
    customer_ids: list[int],
    add: list[str],
    remove: list[str],
    admin_id: int | None,
    job_id: str | None = None,
) -> int:
    actor = Actor.admin(admin_id) if admin_id else Actor.system("bulk")

    async def step(session: AsyncSession, ids: Sequence[int]) -> int:
        return await bulk.tag_customers(session, ids, add=add, remove=remove, actor=actor)

    if job_id is not None:
        return await jobs.run_in_steps(sessions, job_id, customer_ids, step)
    return await run_in_transaction(sessions, lambda session: step(session, customer_ids))


async def bulk_issue_discount(
    sessions: async_sessionmaker[AsyncSession],
    *,
    customer_ids: list[int],
    kind: str,
    reason: str,
    percent: int | None,
    valid_days: int | None,
    admin_id: int | None,
    job_id: str | None = None,
) -> int:
    actor = Actor.admin(admin_id) if admin_id else Actor.system("bulk")
    request = discounts.IssueRequest(
        DiscountKind(kind), percent=percent, valid_days=valid_days, reason=reason
    )

    async def step(session: AsyncSession, ids: Sequence[int]) -> int:
        return await bulk.issue_to_customers(session, ids, request, actor=actor, now=utcnow())

    if job_id is not None:
        return await jobs.run_in_steps(sessions, job_id, customer_ids, step)
    return await run_in_transaction(sessions, lambda session: step(session, customer_ids))
