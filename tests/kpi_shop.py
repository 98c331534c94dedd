"""A few days of a shop's life for the KPI tests, counted per business day in Vladivostok.

The `shop` fixture arranges customers, discounts of every kind, two cashiers
in two stores and three broadcasts around the window 26 February .. 12 March
2025 (UTC+10), with edge cases at business midnight; `report` asks for the
KPIs of that window. Import `shop` into a test module to use it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.kpi import DiscountKindKpi, Granularity, KpiReport, Point, Series, kpi
from backend.domain.models import (
    ActorKind,
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
from tests.factories import make_cashier, make_customer

VVO = ZoneInfo("Asia/Vladivostok")
NOW = datetime(2025, 3, 20, 3, 0, tzinfo=UTC)
# Wednesday 26 February .. Wednesday 12 March 2025, business days in Vladivostok.
START, END = date(2025, 2, 26), date(2025, 3, 12)
SVETLANSKAYA, ALEUTSKAYA = "Светланская", "Алеутская"

_codes = itertools.count(1)


def utc(month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, second, tzinfo=UTC)


def days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def daily(values: Mapping[date, float], first: date = START, last: date = END) -> list[Point]:
    """A day series over first..last: the given values, zero elsewhere."""
    return [Point(day, float(values.get(day, 0))) for day in days(first, last)]


def values(series: Series) -> list[float]:
    return [point.value for point in series.points]


def by_kind(report: KpiReport) -> dict[DiscountKind, DiscountKindKpi]:
    figures = {figure.kind: figure for figure in report.discounts.by_kind}
    assert list(figures) == list(DiscountKind)
    return {kind: figure for kind, figure in figures.items() if kind is not None}


@dataclass
class Shop:
    olga: Cashier
    ivan: Cashier
    spring: Broadcast  # promo broadcast with deliveries
    flash: Broadcast  # promo broadcast with nothing sent
    old: Broadcast  # its promo codes were issued before the window


async def add_discount(
    session: AsyncSession,
    customer: Customer,
    kind: DiscountKind,
    issued_at: datetime,
    *,
    percent: int = 10,
    status: DiscountStatus = DiscountStatus.ACTIVE,
    redeemed_at: datetime | None = None,
    cashier: Cashier | None = None,
    amount: str | None = None,
    broadcast: Broadcast | None = None,
) -> Discount:
    if redeemed_at is not None:
        status = DiscountStatus.REDEEMED
    discount = Discount(
        customer_id=customer.id,
        kind=kind,
        percent=percent,
        code=f"KPI{next(_codes):06d}",
        status=status,
        issued_at=issued_at,
        expires_at=issued_at + timedelta(days=30),
        redeemed_at=redeemed_at,
        cancelled_at=issued_at + timedelta(days=1) if status is DiscountStatus.CANCELLED else None,
        issued_by_kind=ActorKind.SYSTEM,
        reason="тест" if kind is DiscountKind.MANUAL else None,
        cashier_id=cashier.id if cashier else None,
        store=cashier.store if cashier else None,
        purchase_amount=Decimal(amount) if amount else None,
        broadcast_id=broadcast.id if broadcast else None,
    )
    session.add(discount)
    await session.flush()
    return discount


async def add_broadcast(session: AsyncSession, title: str, percent: int = 5) -> Broadcast:
    broadcast = Broadcast(title=title, text="Скидка для вас!", promo_percent=percent)
    session.add(broadcast)
    await session.flush()
    return broadcast


@pytest.fixture
async def shop(session: AsyncSession) -> Shop:
    """Customers, discounts, two cashiers in two stores and three broadcasts.

    Local (VVO) days are in the comments; the timestamps are UTC.
    """
    active, unsubscribed, blocked = (
        CustomerStatus.ACTIVE,
        CustomerStatus.UNSUBSCRIBED,
        CustomerStatus.BLOCKED,
    )
    c0 = await make_customer(session, created_at=utc(2, 20, 3))  # 20 Feb, before the window
    c6 = await make_customer(session, created_at=utc(2, 25, 13, 59, 59))  # 25 Feb 23:59:59
    c7 = await make_customer(session, created_at=utc(2, 25, 14))  # 26 Feb 00:00, first moment
    c1 = await make_customer(session, created_at=utc(2, 27, 1))  # 27 Feb 11:00
    c2 = await make_customer(session, created_at=utc(2, 27, 15, 30))  # 28 Feb 01:30
    c3 = await make_customer(session, status=unsubscribed, created_at=utc(3, 1))  # 1 Mar
    c4 = await make_customer(session, status=blocked, created_at=utc(3, 10, 13, 59))  # 10 Mar 23:59
    c5 = await make_customer(session, status=active, created_at=utc(3, 12, 14))  # 13 Mar 00:00

    olga = await make_cashier(session, name="Ольга", store=SVETLANSKAYA)
    ivan = await make_cashier(session, name="Иван", store=ALEUTSKAYA)
    old = await add_broadcast(session, "Февральская рассылка")
    spring = await add_broadcast(session, "Весенняя распродажа")
    flash = await add_broadcast(session, "Срочная акция")
    for customer, status in [
        (c0, DeliveryStatus.SENT),
        (c1, DeliveryStatus.SENT),
        (c2, DeliveryStatus.SENT),
        (c3, DeliveryStatus.FAILED),
        (c4, DeliveryStatus.BLOCKED),
        (c6, DeliveryStatus.PENDING),
    ]:
        session.add(
            BroadcastDelivery(broadcast_id=spring.id, customer_id=customer.id, status=status)
        )
    session.add(
        BroadcastDelivery(broadcast_id=flash.id, customer_id=c0.id, status=DeliveryStatus.FAILED)
    )

    sub, bday, manual, promo = (
        DiscountKind.SUBSCRIPTION,
        DiscountKind.BIRTHDAY,
        DiscountKind.MANUAL,
        DiscountKind.PROMO,
    )
    # Subscription: issued 26 Feb 00:00 (first moment), redeemed 27 Feb 13:00 by Olga.
    await add_discount(
        session, c7, sub, utc(2, 25, 14), redeemed_at=utc(2, 27, 3), cashier=olga, amount="1000.00"
    )
    # Subscription: issued 28 Feb 01:30, unused.
    await add_discount(session, c2, sub, utc(2, 27, 15, 30))
    # Subscription: issued 13 Mar 00:00, just after the window.
    await add_discount(session, c5, sub, utc(3, 12, 14))
    # Birthday: issued 28 Feb 10:00, redeemed 2 Mar 00:30 by Ivan.
    await add_discount(
        session,
        c1,
        bday,
        utc(2, 28),
        percent=15,
        redeemed_at=utc(3, 1, 14, 30),
        cashier=ivan,
        amount="500.50",
    )
    # Birthday: issued 1 Mar, expired.
    await add_discount(session, c3, bday, utc(3, 1), percent=15, status=DiscountStatus.EXPIRED)
    # Manual: issued 20 Feb (before the window), redeemed 26 Feb 15:00 by Olga.
    await add_discount(
        session,
        c0,
        manual,
        utc(2, 20),
        percent=20,
        redeemed_at=utc(2, 26, 5),
        cashier=olga,
        amount="200.00",
    )
    # Manual: issued 5 Mar, cancelled.
    await add_discount(session, c4, manual, utc(3, 5), percent=20, status=DiscountStatus.CANCELLED)
    # Spring broadcast: four promo codes issued 3 Mar 11:00.
    await add_discount(
        session,
        c0,
        promo,
        utc(3, 3, 1),
        percent=5,
        broadcast=spring,
        redeemed_at=utc(3, 4, 2),  # 4 Mar 12:00, Ivan
        cashier=ivan,
        amount="300.00",
    )
    await add_discount(
        session,
        c1,
        promo,
        utc(3, 3, 1),
        percent=5,
        broadcast=spring,
        redeemed_at=utc(3, 12, 14),  # 13 Mar 00:00: redeemed, but after the window
        cashier=ivan,
        amount="999.00",
    )
    await add_discount(session, c2, promo, utc(3, 3, 1), percent=5, broadcast=spring)
    await add_discount(session, c3, promo, utc(3, 3, 1), percent=5, broadcast=spring)
    # Old broadcast: issued 10 Feb, redeemed 27 Feb 20:00 by Olga.
    await add_discount(
        session,
        c6,
        promo,
        utc(2, 10),
        percent=5,
        broadcast=old,
        redeemed_at=utc(2, 27, 10),
        cashier=olga,
        amount="150.25",
    )
    # Flash broadcast: issued 11 Mar 10:00, redeemed 12 Mar 23:59 by Olga, no amount typed.
    await add_discount(
        session,
        c4,
        promo,
        utc(3, 11),
        percent=5,
        broadcast=flash,
        redeemed_at=utc(3, 12, 13, 59),
        cashier=olga,
    )
    # A promo code without a broadcast: issued 6 Mar, unused.
    await add_discount(session, c6, promo, utc(3, 6), percent=5)
    await session.commit()
    return Shop(olga=olga, ivan=ivan, spring=spring, flash=flash, old=old)


async def report(
    session: AsyncSession,
    granularity: Granularity = Granularity.DAY,
    start: date = START,
    end: date = END,
) -> KpiReport:
    return await kpi(session, start=start, end=end, granularity=granularity, zone=VVO, now=NOW)
