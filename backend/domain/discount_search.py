"""Finding discounts for the admin list and a customer's history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.models import Discount, DiscountKind, DiscountStatus


@dataclass(frozen=True)
class DiscountFilter:
    kinds: tuple[DiscountKind, ...] = ()
    statuses: tuple[DiscountStatus, ...] = ()
    issued_from: datetime | None = None
    issued_to: datetime | None = None
    cashier_id: int | None = None
    store: str | None = None
    customer_id: int | None = None
    broadcast_id: int | None = None


def query(discount_filter: DiscountFilter) -> Select[Discount]:
    f = discount_filter
    conditions: list[ColumnElement[bool]] = []
    if f.kinds:
        conditions.append(Discount.kind.in_(f.kinds))
    if f.statuses:
        conditions.append(Discount.status.in_(f.statuses))
    if f.issued_from is not None:
        conditions.append(Discount.issued_at >= f.issued_from)
    if f.issued_to is not None:
        conditions.append(Discount.issued_at < f.issued_to)
    if f.cashier_id is not None:
        conditions.append(Discount.cashier_id == f.cashier_id)
    if f.store is not None:
        conditions.append(Discount.store == f.store)
    if f.customer_id is not None:
        conditions.append(Discount.customer_id == f.customer_id)
    if f.broadcast_id is not None:
        conditions.append(Discount.broadcast_id == f.broadcast_id)
    return select(Discount).where(*conditions)


async def of_customers(session: AsyncSession, customer_ids: Sequence[int]) -> list[Discount]:
    """Every discount of these customers, newest first (one statement for a page of them)."""
    result = await session.scalars(
        select(Discount)
        .where(Discount.customer_id.in_(customer_ids))
        .order_by(Discount.issued_at.desc(), Discount.id.desc())
    )
    return list(result)
