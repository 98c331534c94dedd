"""Bulk customer actions: tag many, or give many a discount, in one transaction.

A selection is explicit ids or a segment. Small selections run inline; the
GraphQL layer hands larger ones to a background job (threshold in the shop
settings) which calls these same functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import audit, customers, discounts, segments
from backend.domain.audit import Actor
from backend.domain.errors import ValidationFailed
from backend.domain.models import Customer

MAX_EXPLICIT_IDS = 10_000


async def select_customers(
    session: AsyncSession,
    *,
    customer_ids: Sequence[int] | None,
    segment_id: int | None,
    now: datetime,
) -> list[int]:
    """The existing customers a bulk action applies to, by id."""
    if (customer_ids is None) == (segment_id is None):
        raise ValidationFailed("give either customer ids or a segment", field="selection")
    if segment_id is not None:
        segment = await segments.get(session, segment_id)
        rules = segments.parse_rules(segment.rules)
        query = segments.members_query(rules, now=now).order_by(Customer.id)
        return list(await session.scalars(query))
    ids = sorted(set(customer_ids or ()))
    if len(ids) > MAX_EXPLICIT_IDS:
        raise ValidationFailed(f"at most {MAX_EXPLICIT_IDS} ids; use a segment", field="ids")
    found = await session.scalars(select(Customer.id).where(Customer.id.in_(ids)))
    return sorted(found)


async def tag_customers(
    session: AsyncSession,
    customer_ids: Sequence[int],
    *,
    add: Sequence[str],
    remove: Sequence[str],
    actor: Actor,
) -> int:
    if not add and not remove:
        raise ValidationFailed("nothing to add or remove", field="tags")
    for customer_id in customer_ids:
        await customers.change_tags(session, customer_id, add=add, remove=remove, actor=actor)
    await audit.record(
        session,
        actor,
        "customers.bulk_tag",
        "customer",
        None,
        after={"count": len(customer_ids), "add": list(add), "remove": list(remove)},
    )
    return len(customer_ids)


async def issue_to_customers(
    session: AsyncSession,
    customer_ids: Sequence[int],
    request: discounts.IssueRequest,
    *,
    actor: Actor,
    now: datetime,
) -> int:
    for customer_id in customer_ids:
        await discounts.issue(session, customer_id, request, actor=actor, now=now)
    return len(customer_ids)
