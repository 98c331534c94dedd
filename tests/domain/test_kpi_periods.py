"""KPI windows and buckets: weeks from Monday, whole months, business midnight.

Empty weeks and months are kept, a one-day window starts and ends at midnight
in Vladivostok, an empty shop has zero series, and windows too long, reversed
or out of range are refused.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.errors import ValidationFailed
from backend.domain.kpi import MAX_WINDOW_DAYS, Granularity, Point, bucket_start, discount_stats
from backend.domain.models import DiscountKind
from tests.kpi_shop import ALEUTSKAYA, NOW, SVETLANSKAYA, VVO, Shop, by_kind, report, shop, values

__all__ = ["shop"]


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
