"""What a report needs, added up from the rollup's stored days and days counted live.

Closed days of the period come from the rollup's tables; today, and any closed
day the rollup lacks, are counted from the rows (and not stored: reads only).
Customers are added up over every day since the first customer, as the running
total of customers starts there; conversions over every redemption day up to
now, as "redeemed by now" does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.kpi.counting import DayCounts, counter
from backend.domain.kpi.days import as_date, every_day, midnight, runs
from backend.domain.kpi.rollup import (
    first_customer_day,
    first_open_day,
    stored_customer_days,
    stored_discount_days,
)
from backend.domain.models import DiscountKind, KpiConversion, KpiIssue, KpiRedemption


@dataclass
class Tally:
    """What a report over start..end needs, added up from stored and live day counts."""

    start: date
    end: date
    new_customers: dict[date, int] = field(default_factory=lambda: defaultdict(int))  # all days
    issued: dict[tuple[DiscountKind, date], int] = field(default_factory=lambda: defaultdict(int))
    promo_issued: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # by broadcast
    redeemed: dict[tuple[DiscountKind, str | None, date], int] = field(
        default_factory=lambda: defaultdict(int)
    )
    by_cashier: dict[tuple[int | None, str | None], int] = field(
        default_factory=lambda: defaultdict(int)
    )
    # Issued within the period and redeemed by now, per kind and broadcast.
    converted: dict[tuple[DiscountKind, int | None], int] = field(
        default_factory=lambda: defaultdict(int)
    )

    def within(self, day: date) -> bool:
        return self.start <= day <= self.end

    def add(self, counts: DayCounts) -> None:
        for day, count in counts.customers.items():
            self.new_customers[day] += count
        for (day, kind, broadcast_id), count in counts.issues.items():
            self.add_issue(day, kind, broadcast_id, count)
        for (day, kind, store, cashier_id), count in counts.redemptions.items():
            if self.within(day):
                self.redeemed[(kind, store, day)] += count
                self.by_cashier[(cashier_id, store)] += count
        for (_, issued, kind, broadcast_id), count in counts.conversions.items():
            if self.within(issued):
                self.converted[(kind, broadcast_id)] += count

    def add_issue(self, day: date, kind: DiscountKind, broadcast_id: int | None, n: int) -> None:
        if self.within(day):
            self.issued[(kind, day)] += n
            if kind is DiscountKind.PROMO and broadcast_id is not None:
                self.promo_issued[broadcast_id] += n


async def tally(
    session: AsyncSession, *, zone: ZoneInfo, start: date, end: date, now: datetime
) -> Tally | None:
    """The report's counts: stored closed days, the rest counted live; None in a DST period.

    Reads only; days the rollup lacks are counted here and not stored (see
    `remember`), so the figures are right whether or not it was called.
    """
    open_day = first_open_day(now, zone)
    last_closed = open_day - timedelta(days=1)
    first_customer = await first_customer_day(session, zone)
    count = counter(
        session, zone, min(start, first_customer or start), max(end, open_day + timedelta(days=1))
    )
    if count is None:
        return None
    result = Tally(start, end)
    open_start = midnight(open_day, zone)

    # Customers: every day since the first (the running total starts there).
    live = DayCounts()
    if first_customer is not None:
        stored = await stored_customer_days(session, zone)
        for day, new in stored.items():
            if day <= last_closed:
                result.new_customers[day] += new
        missing = set(every_day(first_customer, last_closed)) - set(stored)
        for run_first, run_last in runs(missing):
            since, until = midnight(run_first, zone), midnight(run_last + timedelta(days=1), zone)
            await count.customers(session, live, since, until)
        await count.customers(session, live, open_start, None)

    # Discounts: closed days of start..last_closed from the rollup, the rest live.
    if start <= last_closed:
        have = await stored_discount_days(session, zone, start, last_closed)
        await _read_stored(session, zone, result, last_closed)
        for run_first, run_last in runs(set(every_day(start, last_closed)) - have):
            await count.discount_days(session, live, run_first, run_last)
    if end >= open_day:
        await count.issues(session, live, max(open_start, midnight(start, zone)), None)
        await count.redemptions(session, live, max(open_start, midnight(start, zone)), None)
    await count.conversions(session, live, max(open_start, midnight(start, zone)), None)
    result.add(live)
    return result


async def _read_stored(
    session: AsyncSession, zone: ZoneInfo, result: Tally, last_closed: date
) -> None:
    """Add the stored rows of the period's closed days.

    Detail rows exist only beside their day's marker (both are written in one
    transaction and `forget` drops both), so the days without a marker, which
    the caller counts live, have no rows here.
    """
    key, window = zone.key, (result.start, min(result.end, last_closed))
    for kind, broadcast_id, raw_day, count in await session.execute(
        select(KpiIssue.kind, KpiIssue.broadcast_id, KpiIssue.day, KpiIssue.count).where(
            KpiIssue.zone == key, KpiIssue.day.between(*window)
        )
    ):
        result.add_issue(as_date(raw_day), kind, broadcast_id, int(count))
    total = func.sum(KpiRedemption.count)
    for raw_day, kind, store, count in await session.execute(
        select(KpiRedemption.day, KpiRedemption.kind, KpiRedemption.store, total)
        .where(KpiRedemption.zone == key, KpiRedemption.day.between(*window))
        .group_by(KpiRedemption.day, KpiRedemption.kind, KpiRedemption.store)
    ):
        result.redeemed[(kind, store, as_date(raw_day))] += int(count)
    for cashier_id, store, count in await session.execute(
        select(KpiRedemption.cashier_id, KpiRedemption.store, total)
        .where(KpiRedemption.zone == key, KpiRedemption.day.between(*window))
        .group_by(KpiRedemption.cashier_id, KpiRedemption.store)
    ):
        result.by_cashier[(cashier_id, store)] += int(count)
    # Every redemption day up to last_closed: "redeemed by now", even after the period.
    converted = func.sum(KpiConversion.count)
    for kind, broadcast_id, count in await session.execute(
        select(KpiConversion.kind, KpiConversion.broadcast_id, converted)
        .where(
            KpiConversion.zone == key,
            KpiConversion.issued_day.between(result.start, result.end),
            KpiConversion.day <= last_closed,
        )
        .group_by(KpiConversion.kind, KpiConversion.broadcast_id)
    ):
        result.converted[(kind, broadcast_id)] += int(count)
