"""The audience: a broadcast's delivery rows, made once from its frozen segment rules."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import broadcasts, segments
from backend.domain.errors import InvalidState
from backend.domain.models import BroadcastDelivery, Customer, DeliveryStatus

_D = BroadcastDelivery


async def resolve_audience(session: AsyncSession, broadcast_id: int, *, now: datetime) -> int:
    """Create the delivery rows from `rules_snapshot` once; returns how many rows there are.

    One INSERT … SELECT over the segment query (no Python loop); a second call
    finds rows and inserts nothing, so a restarted worker may always call it.
    """
    broadcast = await broadcasts.get(session, broadcast_id, for_update=True)
    if broadcast.rules_snapshot is None:
        raise InvalidState(
            f"broadcast {broadcast_id} has not started sending (no audience yet)",
            entity="broadcast",
            status=broadcast.status.value,
        )
    existing = await _count(session, broadcast_id)
    if existing:
        return existing
    rules = segments.parse_rules(broadcast.rules_snapshot)
    already = exists().where(_D.broadcast_id == broadcast_id, _D.customer_id == Customer.id)
    members = segments.members_query(rules, now=now).where(~already)
    rows = members.add_columns(
        literal(broadcast_id), literal(DeliveryStatus.PENDING.value), literal(0)
    )
    await session.execute(
        insert(_D).from_select(["customer_id", "broadcast_id", "status", "attempts"], rows)
    )
    return await _count(session, broadcast_id)


async def _count(session: AsyncSession, broadcast_id: int) -> int:
    count = await session.scalar(select(func.count(_D.id)).where(_D.broadcast_id == broadcast_id))
    return count or 0
