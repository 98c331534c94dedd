"""Bulk customer actions: tag many, or give many a discount, in one transaction.

A selection is explicit ids or a segment. Small selections run inline
(`runs_inline`: up to the shop setting `bulk_background_threshold`); the
GraphQL layer hands larger ones to a background job which calls these same
functions. Every discount given in bulk gets
its notice row in the same transaction (`notifications.plan_discount_notices`);
the workers send them through the broadcast engine's shared rate limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import audit, customers, discounts, notifications, segments, shop_settings
from backend.domain.audit import Actor
from backend.domain.clock import shop_zone
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


async def runs_inline(session: AsyncSession, count: int) -> bool:
    """Whether a bulk action on `count` customers runs in the request (or in a background job)."""
    return count <= await shop_settings.get_int(session, "bulk_background_threshold")


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
    zone: tzinfo | None = None,
) -> int:
    """Give each customer the discount and plan its notice; one audit line sums the notices.

    Customers who blocked the bot or unsubscribed still get the code (the
    cashier accepts it) but no message; the summary says how many.
    """
    zone = zone or shop_zone()
    issued = [
        await discounts.issue(session, customer_id, request, actor=actor, now=now, zone=zone)
        for customer_id in customer_ids
    ]
    plan = await notifications.plan_discount_notices(
        session, issued, actor=actor, now=now, zone=zone
    )
    await audit.record(
        session,
        actor,
        "customers.bulk_discount_notices",
        "customer",
        None,
        after={
            "count": len(issued),
            "queued": len(plan.queued),
            "held_for_quiet_hours": len(plan.held),
            "not_sent": plan.skipped,
        },
    )
    return len(customer_ids)
