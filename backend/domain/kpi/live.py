"""The report counted from the rows alone (`kpi_live`), ignoring the rollup: the reference.

One grouped statement per measure family (six), aggregated by the database
(GROUP BY): no customer or discount row is loaded. It is what `kpi` did before
the rollup, kept to check the rollup against and for a zone whose UTC offset
changes within the period. `sent_count` is shared with `report.kpi`, which
reads a broadcast's sent messages live too.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.kpi import period, sections
from backend.domain.kpi.figures import (
    BroadcastConversion,
    CashierRedemptions,
    CustomerKpi,
    DiscountKpi,
    Granularity,
    KpiReport,
    RedemptionKpi,
)
from backend.domain.kpi.period import Calendar, Window
from backend.domain.models import (
    Broadcast,
    BroadcastDelivery,
    Cashier,
    Customer,
    CustomerStatus,
    DeliveryStatus,
    Discount,
    DiscountKind,
    DiscountStatus,
)


async def kpi_live(
    session: AsyncSession,
    *,
    start: date,
    end: date,
    granularity: Granularity,
    zone: ZoneInfo,
    now: datetime,
) -> KpiReport:
    """The same report counted from the rows alone, ignoring the rollup: the reference.

    Six grouped statements over the period's rows; what `kpi` did before the
    rollup, kept to check it against and for zones whose offset changes.
    """
    if now.tzinfo is None:
        raise ValueError("kpi needs an aware `now`")
    calendar = Calendar.of(period.window(session, start, end, zone), granularity)
    discounts, store_daily = await _discount_kpi(session, calendar)
    return KpiReport(
        start=start,
        end=end,
        granularity=granularity,
        zone=zone.key,
        as_of=now,
        buckets=list(calendar.buckets),
        customers=await _customer_kpi(session, calendar),
        discounts=discounts,
        broadcasts=await _broadcast_conversions(session, calendar.window),
        redemptions=RedemptionKpi(
            by_cashier=await _cashier_redemptions(session, calendar.window),
            by_store=sections.store_redemptions(calendar, store_daily),
        ),
    )


async def _customer_kpi(session: AsyncSession, calendar: Calendar) -> CustomerKpi:
    window = calendar.window
    # Both statements are covered by the (status, created_at) index; listing every
    # status lets MariaDB, which has no skip scan, range-scan it per status.
    earlier = func.sum(case((Customer.created_at < window.since, 1), else_=0))
    by_status: dict[CustomerStatus, int] = defaultdict(int)
    before = 0
    for status, count, created_earlier in await session.execute(
        select(Customer.status, func.count(), earlier).group_by(Customer.status)
    ):
        by_status[status] += int(count)
        before += int(created_earlier or 0)

    day = window.local_day(Customer.created_at)
    rows = await session.execute(
        select(day, func.count())
        .where(Customer.status.in_(list(CustomerStatus)), window.contains(Customer.created_at))
        .group_by(day)
    )
    new = calendar.series("new_customers", period.daily(rows, window))
    return sections.customer_kpi_of(by_status, before, new)


async def _discount_kpi(
    session: AsyncSession, calendar: Calendar
) -> tuple[DiscountKpi, dict[str | None, dict[date, int]]]:
    """Discount figures, and redemptions per store per day (same statement) for later."""
    window = calendar.window
    issued: dict[DiscountKind, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    converted: dict[DiscountKind, int] = defaultdict(int)
    issued_day = window.local_day(Discount.issued_at)
    # Listing every kind lets the (kind, issued_at) index serve the range on MariaDB.
    for kind, raw_day, count, since_redeemed in await session.execute(
        select(Discount.kind, issued_day, func.count(), func.sum(_redeemed_flag()))
        .where(Discount.kind.in_(list(DiscountKind)), window.contains(Discount.issued_at))
        .group_by(Discount.kind, issued_day)
    ):
        issued[kind][window.day(raw_day)] += int(count)
        converted[kind] += int(since_redeemed or 0)

    redeemed: dict[DiscountKind, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    by_store: dict[str | None, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    redeemed_day = window.local_day(Discount.redeemed_at)
    for kind, store, raw_day, count in await session.execute(
        select(Discount.kind, Discount.store, redeemed_day, func.count())
        .where(window.contains(Discount.redeemed_at))
        .group_by(Discount.kind, Discount.store, redeemed_day)
    ):
        day = window.day(raw_day)
        redeemed[kind][day] += int(count)
        by_store[store][day] += int(count)

    return sections.discount_kpi_of(calendar, issued, redeemed, converted), by_store


async def _broadcast_conversions(
    session: AsyncSession, window: Window
) -> list[BroadcastConversion]:
    promo = (
        select(
            Discount.broadcast_id.label("broadcast_id"),
            func.count().label("issued"),
            func.sum(_redeemed_flag()).label("redeemed"),
        )
        .where(
            Discount.kind == DiscountKind.PROMO,
            Discount.broadcast_id.is_not(None),
            window.contains(Discount.issued_at),
        )
        .group_by(Discount.broadcast_id)
        .subquery()
    )
    sent = sent_count()
    rows = await session.execute(
        select(Broadcast.id, Broadcast.title, sent, promo.c.issued, promo.c.redeemed)
        .join_from(promo, Broadcast, Broadcast.id == promo.c.broadcast_id)
        .order_by(Broadcast.id.desc())
    )
    return [sections.conversion(*row) for row in rows]


def sent_count() -> Any:
    """Deliveries with status "sent" of the broadcast in the outer statement."""
    return (
        select(func.count())
        .select_from(BroadcastDelivery)
        .where(
            BroadcastDelivery.broadcast_id == Broadcast.id,
            BroadcastDelivery.status == DeliveryStatus.SENT,
        )
        .scalar_subquery()
    )


async def _cashier_redemptions(session: AsyncSession, window: Window) -> list[CashierRedemptions]:
    # Counted first, then joined: the name is not part of the GROUP BY.
    counted = (
        select(Discount.cashier_id, Discount.store, func.count().label("redemptions"))
        .where(window.contains(Discount.redeemed_at))
        .group_by(Discount.cashier_id, Discount.store)
        .subquery()
    )
    rows = await session.execute(
        select(counted.c.cashier_id, Cashier.name, counted.c.store, counted.c.redemptions)
        .select_from(counted)
        .outerjoin(Cashier, Cashier.id == counted.c.cashier_id)
    )
    return sections.sorted_cashiers(
        CashierRedemptions(cashier_id=cashier_id, name=name, store=store, count=int(count))
        for cashier_id, name, store, count in rows
    )


def _redeemed_flag() -> ColumnElement[int]:
    """1 for a redeemed discount, else 0: summed, the redeemed ones of a group."""
    return case((Discount.status == DiscountStatus.REDEEMED, 1), else_=0)
