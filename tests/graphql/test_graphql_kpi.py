"""The dashboard's KPIs over the API: every series has one point per bucket, ready to draw."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain.kpi.rollup import first_open_day
from backend.domain.models import (
    AdminRole,
    DiscountKind,
    DiscountStatus,
    KpiCustomerDay,
    KpiDiscountDay,
)
from tests.api import GraphQLClient
from tests.factories import make_customer, make_discount

KPI = """
fragment S on Series { name total points { bucket value } }
query($start: Date!, $end: Date!, $granularity: Granularity) {
  kpi(start: $start, end: $end, granularity: $granularity) {
    start end granularity zone asOf buckets
    customers { total new active unsubscribed blocked
      newCustomers { ...S } totalCustomers { ...S } }
    discounts {
      overall { kind issued redeemed converted conversion
        issuedSeries { ...S } redeemedSeries { ...S } }
      byKind { kind issued redeemed issuedSeries { ...S } redeemedSeries { ...S } }
    }
    broadcasts { broadcastId title sent issued redeemed conversion sentConversion }
    redemptions {
      byCashier { cashierId name store count }
      byStore { store count series { ...S } }
    }
  }
}
"""
# Monday 3 .. Sunday 16 March 2025, business days in Vladivostok (UTC+10).
START, END = date(2025, 3, 3), date(2025, 3, 16)


def utc(day: int, hour: int, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=UTC)


async def _a_fortnight(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await make_customer(session, created_at=utc(1, 0, month=2))  # before the window
        anna = await make_customer(session, created_at=utc(2, 20))  # 3 March, 06:00 local
        await make_customer(session, created_at=utc(5, 15))  # 6 March, 01:00 local
        await make_customer(session, created_at=utc(10, 2))  # 10 March
        await make_discount(
            session, anna, status=DiscountStatus.REDEEMED, issued_at=utc(4, 1)
        )  # issued and redeemed on 4 March
        await make_discount(session, anna, kind=DiscountKind.PROMO, issued_at=utc(11, 3))


def _every_series(report: dict[str, Any]) -> list[dict[str, Any]]:
    customers, discounts = report["customers"], report["discounts"]
    kinds = [discounts["overall"], *discounts["byKind"]]
    return [
        customers["newCustomers"],
        customers["totalCustomers"],
        *(figure[name] for figure in kinds for name in ("issuedSeries", "redeemedSeries")),
        *(store["series"] for store in report["redemptions"]["byStore"]),
    ]


def _values(series: dict[str, Any]) -> list[float]:
    return [point["value"] for point in series["points"]]


async def test_daily_report_has_one_point_per_day_in_every_series(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _a_fortnight(sessions)

    response = await staff[AdminRole.READONLY](
        KPI, start=START.isoformat(), end=END.isoformat(), granularity="DAY"
    )
    report = response.data["kpi"]

    days = [(START + timedelta(days=offset)).isoformat() for offset in range(14)]
    assert report["buckets"] == days
    assert (report["granularity"], report["zone"]) == ("DAY", "Asia/Vladivostok")
    series = _every_series(report)
    assert len(series) == 2 + 2 * (1 + len(DiscountKind)) + 1
    for line in series:
        assert [point["bucket"] for point in line["points"]] == days, line["name"]
        assert line["total"] == (
            line["points"][-1]["value"] if line["name"] == "total_customers" else sum(_values(line))
        )
    customers = report["customers"]
    assert (customers["total"], customers["new"], customers["active"]) == (4, 3, 4)
    assert _values(customers["newCustomers"])[:8] == [1, 0, 0, 1, 0, 0, 0, 1]
    assert _values(customers["totalCustomers"])[:8] == [2, 2, 2, 3, 3, 3, 3, 4]
    overall = report["discounts"]["overall"]
    assert (overall["kind"], overall["issued"], overall["redeemed"]) == (None, 2, 1)
    assert overall["conversion"] == 0.5
    assert _values(overall["issuedSeries"])[:9] == [0, 1, 0, 0, 0, 0, 0, 0, 1]
    assert [figure["kind"] for figure in report["discounts"]["byKind"]] == [
        kind.name for kind in DiscountKind
    ]
    by_store = report["redemptions"]["byStore"]
    assert [(store["store"], store["count"]) for store in by_store] == [(None, 1)]
    assert by_store[0]["series"]["name"] == "(no store)"


async def test_weekly_report_folds_days_into_iso_weeks(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _a_fortnight(sessions)

    response = await staff[AdminRole.READONLY](
        KPI, start=START.isoformat(), end=END.isoformat(), granularity="WEEK"
    )
    report = response.data["kpi"]

    assert report["buckets"] == ["2025-03-03", "2025-03-10"]
    for line in _every_series(report):
        assert [point["bucket"] for point in line["points"]] == report["buckets"], line["name"]
    assert _values(report["customers"]["newCustomers"]) == [2, 1]
    assert _values(report["customers"]["totalCustomers"]) == [3, 4]
    overall = report["discounts"]["overall"]
    assert (_values(overall["issuedSeries"]), _values(overall["redeemedSeries"])) == (
        [1, 1],
        [1, 0],
    )

    default = await staff[AdminRole.READONLY](KPI, start="2025-03-03", end="2025-03-04")
    assert default.data["kpi"]["granularity"] == "DAY"
    assert len(default.data["kpi"]["buckets"]) == 2


async def test_a_bad_window_is_a_validation_error(
    staff: dict[AdminRole, GraphQLClient], graphql: GraphQLClient
) -> None:
    readonly = staff[AdminRole.READONLY]

    backwards = await readonly(KPI, start="2025-03-16", end="2025-03-03")
    assert backwards.error_code == "VALIDATION"
    assert backwards.body["errors"][0]["extensions"]["field"] == "end"
    too_long = await readonly(KPI, start="2023-01-01", end="2025-03-03")
    assert too_long.error_code == "VALIDATION"
    assert (await graphql(KPI, start="2025-03-03", end="2025-03-16")).error_code == (
        "UNAUTHENTICATED"
    )


async def test_the_first_report_stores_the_closed_days_and_the_next_reads_them(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _a_fortnight(sessions)
    readonly = staff[AdminRole.READONLY]
    variables = {"start": START.isoformat(), "end": END.isoformat(), "granularity": "DAY"}

    zone = ZoneInfo("Asia/Vladivostok")
    # The first day counted live: today, or yesterday for `SETTLE` after midnight
    # (the clock may cross that moment while the report runs: either is right).
    open_days = {first_open_day(datetime.now(UTC), zone)}
    first = (await readonly(KPI, **variables)).data["kpi"]
    open_days.add(first_open_day(datetime.now(UTC), zone))
    async with sessions() as session:
        days = await session.scalar(select(func.count()).select_from(KpiDiscountDay))
        customer_days = await session.scalar(select(func.count()).select_from(KpiCustomerDay))
    second = (await readonly(KPI, **variables)).data["kpi"]

    # the period's days, then every closed day up to the first open one
    assert days in {(day - START).days for day in open_days}
    assert customer_days in {(day - date(2025, 2, 1)).days for day in open_days}
    first.pop("asOf"), second.pop("asOf")
    assert second == first
