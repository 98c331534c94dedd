"""KPIs: a few days of a shop's life, counted per business day in Vladivostok (UTC+10)."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.domain.errors import ValidationFailed
from backend.domain.kpi import (
    MAX_WINDOW_DAYS,
    BroadcastConversion,
    CashierRedemptions,
    DiscountKindKpi,
    Granularity,
    KindCount,
    KpiReport,
    Point,
    Series,
    StatusCount,
    bucket_start,
    discount_stats,
    kpi,
    kpi_live,
)
from backend.domain.kpi import rollup as kpi_rollup
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


async def test_customers_per_business_day(session: AsyncSession, shop: Shop) -> None:
    result = await report(session)

    customers = result.customers
    assert result.buckets == list(days(START, END))
    assert (customers.total, customers.new) == (7, 5)
    assert (customers.active, customers.unsubscribed, customers.blocked) == (6, 1, 1)
    # 15:30 UTC on 27 Feb is already 28 Feb in Vladivostok.
    new = {date(2025, 2, 26): 1, date(2025, 2, 27): 1, date(2025, 2, 28): 1}
    new |= {date(2025, 3, 1): 1, date(2025, 3, 10): 1}
    assert customers.new_customers == Series("new_customers", daily(new), 5.0)
    totals = {day: 2.0 + sum(n for d, n in new.items() if d <= day) for day in days(START, END)}
    assert customers.total_customers == Series("total_customers", daily(totals), 7.0)


async def test_discounts_per_kind_per_business_day(session: AsyncSession, shop: Shop) -> None:
    result = await report(session)

    kinds = by_kind(result)
    sub, bday, manual, promo = (kinds[kind] for kind in DiscountKind)
    d = date
    assert (sub.issued, sub.redeemed, sub.converted, sub.conversion) == (2, 1, 1, 0.5)
    assert sub.issued_series == Series(
        "issued:subscription", daily({d(2025, 2, 26): 1, d(2025, 2, 28): 1}), 2.0
    )
    assert sub.redeemed_series == Series("redeemed:subscription", daily({d(2025, 2, 27): 1}), 1.0)

    assert (bday.issued, bday.redeemed, bday.converted, bday.conversion) == (2, 1, 1, 0.5)
    assert bday.issued_series.points == daily({d(2025, 2, 28): 1, d(2025, 3, 1): 1})
    assert bday.redeemed_series.points == daily({d(2025, 3, 2): 1})

    # The redeemed manual discount was issued before the window: no conversion.
    assert (manual.issued, manual.redeemed, manual.converted, manual.conversion) == (1, 1, 0, 0.0)
    assert manual.issued_series.points == daily({d(2025, 3, 5): 1})
    assert manual.redeemed_series.points == daily({d(2025, 2, 26): 1})

    # Issued in the window: four spring, one flash, one without a broadcast; three of
    # them redeemed (one after the window). Redeemed in the window: spring, old, flash.
    assert (promo.issued, promo.redeemed, promo.converted, promo.conversion) == (6, 3, 3, 0.5)
    assert promo.issued_series == Series(
        "issued:promo", daily({d(2025, 3, 3): 4, d(2025, 3, 6): 1, d(2025, 3, 11): 1}), 6.0
    )
    assert promo.redeemed_series.points == daily(
        {d(2025, 2, 27): 1, d(2025, 3, 4): 1, d(2025, 3, 12): 1}
    )

    overall = result.discounts.overall
    assert overall.kind is None
    assert (overall.issued, overall.redeemed, overall.converted) == (11, 6, 5)
    assert overall.conversion == pytest.approx(5 / 11)
    assert overall.issued_series.name == "issued:all"
    assert overall.redeemed_series.name == "redeemed:all"
    assert values(overall.issued_series) == [
        sum(values(kind.issued_series)[i] for kind in kinds.values()) for i in range(15)
    ]
    assert overall.redeemed_series.points == daily(
        {d(2025, 2, 26): 1, d(2025, 2, 27): 2, d(2025, 3, 2): 1, d(2025, 3, 4): 1}
        | {d(2025, 3, 12): 1}
    )


async def test_broadcast_conversion(session: AsyncSession, shop: Shop) -> None:
    result = await report(session)

    # Newest first; the old broadcast issued nothing in the window.
    assert result.broadcasts == [
        BroadcastConversion(
            broadcast_id=shop.flash.id,
            title="Срочная акция",
            sent=0,
            issued=1,
            redeemed=1,
            conversion=1.0,
            sent_conversion=0.0,
        ),
        BroadcastConversion(
            broadcast_id=shop.spring.id,
            title="Весенняя распродажа",
            sent=3,
            issued=4,
            redeemed=2,
            conversion=0.5,
            sent_conversion=2 / 3,
        ),
    ]


async def test_redemptions_per_cashier_and_store(session: AsyncSession, shop: Shop) -> None:
    result = await report(session)

    redemptions = result.redemptions
    assert redemptions.by_cashier == [
        CashierRedemptions(shop.olga.id, "Ольга", SVETLANSKAYA, 4),
        CashierRedemptions(shop.ivan.id, "Иван", ALEUTSKAYA, 2),
    ]
    assert [(entry.store, entry.count) for entry in redemptions.by_store] == [
        (SVETLANSKAYA, 4),
        (ALEUTSKAYA, 2),
    ]
    svetlanskaya, aleutskaya = (entry.series for entry in redemptions.by_store)
    assert svetlanskaya == Series(
        SVETLANSKAYA,
        daily({date(2025, 2, 26): 1, date(2025, 2, 27): 2, date(2025, 3, 12): 1}),
        4.0,
    )
    assert aleutskaya == Series(ALEUTSKAYA, daily({date(2025, 3, 2): 1, date(2025, 3, 4): 1}), 2.0)


async def test_weeks_start_on_monday_and_keep_empty_weeks(
    session: AsyncSession, shop: Shop
) -> None:
    result = await report(session, Granularity.WEEK)

    weeks = [date(2025, 2, 24), date(2025, 3, 3), date(2025, 3, 10)]
    assert result.buckets == weeks
    customers = result.customers
    assert customers.new_customers.points == [
        Point(w, v) for w, v in zip(weeks, [4, 0, 1], strict=True)
    ]
    assert values(customers.total_customers) == [6, 6, 7]
    assert customers.total_customers.total == 7
    kinds = by_kind(result)
    assert values(kinds[DiscountKind.SUBSCRIPTION].issued_series) == [2, 0, 0]
    assert values(kinds[DiscountKind.BIRTHDAY].issued_series) == [2, 0, 0]
    assert values(kinds[DiscountKind.MANUAL].issued_series) == [0, 1, 0]
    assert values(kinds[DiscountKind.PROMO].issued_series) == [0, 5, 1]
    assert values(kinds[DiscountKind.PROMO].redeemed_series) == [1, 1, 1]
    assert values(result.discounts.overall.issued_series) == [4, 6, 1]
    # 2 March (a Sunday) still belongs to the week of 24 February.
    assert values(result.discounts.overall.redeemed_series) == [4, 1, 1]
    stores = {entry.store: values(entry.series) for entry in result.redemptions.by_store}
    assert stores == {SVETLANSKAYA: [3, 0, 1], ALEUTSKAYA: [1, 1, 0]}
    # Figures that do not depend on buckets are the same as per day.
    day_report = await report(session)
    assert result.customers.new == day_report.customers.new
    assert result.broadcasts == day_report.broadcasts
    assert result.redemptions.by_cashier == day_report.redemptions.by_cashier


async def test_months_keep_empty_months(session: AsyncSession, shop: Shop) -> None:
    result = await report(session, Granularity.MONTH, date(2025, 1, 15), date(2025, 4, 10))

    months = [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1), date(2025, 4, 1)]
    assert result.buckets == months
    customers = result.customers
    assert (customers.total, customers.new) == (8, 8)
    assert values(customers.new_customers) == [0, 5, 3, 0]
    assert values(customers.total_customers) == [0, 5, 8, 8]
    kinds = by_kind(result)
    assert values(kinds[DiscountKind.SUBSCRIPTION].issued_series) == [0, 2, 1, 0]
    assert values(kinds[DiscountKind.MANUAL].issued_series) == [0, 1, 1, 0]
    assert values(kinds[DiscountKind.PROMO].issued_series) == [0, 1, 6, 0]
    assert values(kinds[DiscountKind.PROMO].redeemed_series) == [0, 1, 3, 0]
    assert values(result.discounts.overall.redeemed_series) == [0, 3, 4, 0]
    # All three broadcasts issued promo codes between mid-January and April.
    spring = next(b for b in result.broadcasts if b.broadcast_id == shop.spring.id)
    assert (spring.issued, spring.redeemed, spring.sent) == (4, 2, 3)
    assert [b.broadcast_id for b in result.broadcasts] == [
        shop.flash.id,
        shop.spring.id,
        shop.old.id,
    ]


async def test_window_edges_follow_business_midnight(session: AsyncSession, shop: Shop) -> None:
    """One-day windows: 25 Feb ends at 13:59:59 UTC, 26 Feb starts at 14:00 UTC."""
    feb_25 = await report(session, start=date(2025, 2, 25), end=date(2025, 2, 25))
    feb_26 = await report(session, start=date(2025, 2, 26), end=date(2025, 2, 26))

    assert feb_25.buckets == [date(2025, 2, 25)]
    assert (feb_25.customers.total, feb_25.customers.new) == (2, 1)
    assert (feb_26.customers.total, feb_26.customers.new) == (3, 1)
    assert feb_26.discounts.overall.issued == 1
    assert feb_26.customers.new_customers.points == [Point(date(2025, 2, 26), 1.0)]


async def test_an_empty_shop_has_zero_series(session: AsyncSession) -> None:
    result = await report(session, Granularity.WEEK)

    assert (result.customers.total, result.customers.new, result.customers.active) == (0, 0, 0)
    assert values(result.customers.total_customers) == [0, 0, 0]
    for figure in [result.discounts.overall, *result.discounts.by_kind]:
        assert (figure.issued, figure.redeemed, figure.conversion) == (0, 0, 0.0)
        assert values(figure.issued_series) == [0, 0, 0]
    assert result.broadcasts == []
    assert result.redemptions.by_cashier == []
    assert result.redemptions.by_store == []
    assert (result.zone, result.as_of, result.granularity) == (
        "Asia/Vladivostok",
        NOW,
        Granularity.WEEK,
    )


@contextlib.contextmanager
def selects(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_report_takes_a_handful_of_statements_whatever_the_period(
    engine: AsyncEngine, session: AsyncSession, shop: Shop
) -> None:
    """With the closed days stored, a report is the same dozen statements for any period.

    Three to find the stored days, four to read them (issues, redemptions by
    day and by cashier, conversions), four counting today live (customers,
    issues, redemptions, conversions), customer statuses, broadcasts, cashiers.
    """
    long, short = (date(2023, 4, 1), date(2025, 3, 31)), (date(2025, 2, 1), date(2025, 3, 20))
    await kpi_rollup.remember(session, zone=VVO, start=long[0], now=NOW)
    await session.commit()
    counts = []
    for start, end in (long, short):
        with selects(engine) as statements:
            await report(session, Granularity.MONTH, start, end)
        counts.append(len(statements))
    assert counts == [14, 14]

    # The reference counts the rows themselves: six grouped statements.
    with selects(engine) as statements:
        await kpi_live(
            session, start=long[0], end=long[1], granularity=Granularity.MONTH, zone=VVO, now=NOW
        )
    assert len(statements) == 6


async def test_the_report_is_the_same_with_and_without_stored_days(
    session: AsyncSession, shop: Shop
) -> None:
    counted = await report(session)
    await kpi_rollup.remember(session, zone=VVO, start=START, now=NOW)
    await session.commit()

    assert await report(session) == counted
    live = await kpi_live(
        session, start=START, end=END, granularity=Granularity.DAY, zone=VVO, now=NOW
    )
    assert live == counted


async def test_discount_stats(session: AsyncSession, shop: Shop) -> None:
    stats = await discount_stats(session, start=START, end=END, zone=VVO)

    assert stats.issued == 11
    assert stats.by_status == [
        StatusCount(DiscountStatus.ACTIVE, 4),
        StatusCount(DiscountStatus.REDEEMED, 5),
        StatusCount(DiscountStatus.EXPIRED, 1),
        StatusCount(DiscountStatus.CANCELLED, 1),
    ]
    assert stats.by_kind == [
        KindCount(DiscountKind.SUBSCRIPTION, 2),
        KindCount(DiscountKind.BIRTHDAY, 2),
        KindCount(DiscountKind.MANUAL, 1),
        KindCount(DiscountKind.PROMO, 6),
    ]
    # 10+10 + 15+15 + 20 + 6×5 over 11 discounts.
    assert stats.average_percent == pytest.approx(100 / 11)
    assert stats.redeemed == 6
    # 1000.00 + 500.50 + 200.00 + 300.00 + 150.25 (+ one redemption without an amount).
    assert stats.purchase_total == Decimal("2150.75")
    assert (stats.start, stats.end, stats.zone) == (START, END, "Asia/Vladivostok")


async def test_discount_stats_of_an_empty_period(session: AsyncSession, shop: Shop) -> None:
    stats = await discount_stats(session, start=date(2024, 1, 1), end=date(2024, 1, 31), zone=VVO)

    assert (stats.issued, stats.redeemed, stats.average_percent) == (0, 0, None)
    assert stats.purchase_total == Decimal("0.00")
    assert {entry.count for entry in stats.by_status} == {0}
    assert {entry.count for entry in stats.by_kind} == {0}


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (date(2025, 3, 2), date(2025, 3, 1), r"ends \(2025-03-01\) before it starts"),
        (date(2023, 1, 1), date(2025, 1, 1), "732 days"),
        (date(1800, 1, 1), date(1800, 1, 2), "between the years"),
    ],
)
async def test_bad_windows_are_refused(
    session: AsyncSession, start: date, end: date, message: str
) -> None:
    with pytest.raises(ValidationFailed, match=message):
        await report(session, start=start, end=end)
    with pytest.raises(ValidationFailed, match=message):
        await discount_stats(session, start=start, end=end, zone=VVO)


async def test_the_longest_window_is_accepted(session: AsyncSession) -> None:
    start = date(2023, 1, 1)
    end = start + timedelta(days=MAX_WINDOW_DAYS - 1)

    result = await report(session, Granularity.DAY, start, end)

    assert len(result.buckets) == MAX_WINDOW_DAYS
    assert len(result.customers.new_customers.points) == MAX_WINDOW_DAYS


def test_buckets_start_on_the_first_day() -> None:
    sunday = date(2025, 3, 2)
    assert bucket_start(sunday, Granularity.DAY) == sunday
    assert bucket_start(sunday, Granularity.WEEK) == date(2025, 2, 24)
    assert bucket_start(date(2025, 3, 3), Granularity.WEEK) == date(2025, 3, 3)
    assert bucket_start(sunday, Granularity.MONTH) == date(2025, 3, 1)
