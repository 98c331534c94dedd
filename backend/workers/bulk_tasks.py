"""Bulk customer actions too large to finish inside one API request.

Each handler is one transaction through the same domain functions the API
uses inline, so a background job and an inline call change the same things
and leave the same audit lines.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import bulk, discounts
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
) -> int:
    actor = Actor.admin(admin_id) if admin_id else Actor.system("bulk")
    return await run_in_transaction(
        sessions,
        lambda session: bulk.tag_customers(
            session, customer_ids, add=add, remove=remove, actor=actor
        ),
    )


async def bulk_issue_discount(
    sessions: async_sessionmaker[AsyncSession],
    *,
    customer_ids: list[int],
    kind: str,
    reason: str,
    percent: int | None,
    valid_days: int | None,
    admin_id: int | None,
) -> int:
    actor = Actor.admin(admin_id) if admin_id else Actor.system("bulk")
    request = discounts.IssueRequest(
        DiscountKind(kind), percent=percent, valid_days=valid_days, reason=reason
    )
    return await run_in_transaction(
        sessions,
        lambda session: bulk.issue_to_customers(
            session, customer_ids, request, actor=actor, now=utcnow()
        ),
    )
