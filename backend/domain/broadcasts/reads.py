"""Reading broadcasts: one by id, many at once, the lists the API pages, the due ones."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.errors import NotFound
from backend.domain.models import Broadcast, BroadcastDelivery, BroadcastStatus, DeliveryStatus


async def get(session: AsyncSession, broadcast_id: int, *, for_update: bool = False) -> Broadcast:
    # populate_existing: a locked read must refresh the row we may already hold.
    broadcast = await session.get(
        Broadcast, broadcast_id, with_for_update=for_update, populate_existing=for_update
    )
    if broadcast is None:
        raise NotFound(f"broadcast {broadcast_id} does not exist", entity="broadcast")
    return broadcast


async def by_ids(session: AsyncSession, ids: Iterable[int]) -> list[Broadcast]:
    """The broadcasts among `ids` that exist, in no particular order (one statement)."""
    return list(await session.scalars(select(Broadcast).where(Broadcast.id.in_(list(ids)))))


def listing(statuses: Collection[BroadcastStatus] | None = None) -> Select[Broadcast]:
    """Every broadcast, or those in one of `statuses` (the API pages it newest first)."""
    query = select(Broadcast)
    if statuses:
        query = query.where(Broadcast.status.in_(statuses))
    return query


def delivery_listing(
    broadcast_id: int, status: DeliveryStatus | None = None
) -> Select[BroadcastDelivery]:
    """A broadcast's delivery rows, or those in `status` (the API pages them in order)."""
    query = select(BroadcastDelivery).where(BroadcastDelivery.broadcast_id == broadcast_id)
    if status is not None:
        query = query.where(BroadcastDelivery.status == status)
    return query


async def due_for_sending(session: AsyncSession, *, now: datetime) -> list[Broadcast]:
    """Scheduled broadcasts whose time has come, the longest waiting first."""
    result = await session.scalars(
        select(Broadcast)
        .where(Broadcast.status == BroadcastStatus.SCHEDULED, Broadcast.scheduled_at <= now)
        .order_by(Broadcast.scheduled_at, Broadcast.id)
    )
    return list(result)
