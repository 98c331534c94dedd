"""The KPI rollup: closed business days counted once, so a report reads days, not rows.

At a million customers and three million discounts a 90-day report that counts
rows reads hundreds of thousands of index entries per call. A closed business
day (before today in the shop's zone, and over for `SETTLE`) never changes, so
each is counted once into the tables of `backend.domain.models.kpi_days`; a
report then adds up a few hundred day rows and counts only today (and any day
not stored yet) live.

What makes a closed day final is that every figure is an *event on its own
day*, never a row's current state:

* customers created on a day;
* discounts issued on a day, per kind and broadcast;
* discounts redeemed on a day, per kind, store and cashier;
* conversions: redemptions on a day, per the day the discount was issued. "Issued
  in the period and redeemed by now" is then the sum over the issue days of the
  period, over every redemption day up to now; a redemption today adds to
  today's (live) count instead of changing a past day's row.

Domain services write events with `now`, so they never touch a closed day.
Whatever writes rows dated in the past (the demo and volume data generators,
test factories, a manual fix in the database) must call `forget` afterwards.
What stays live because it is current state: customers by status, a broadcast's
sent messages, the names of cashiers and titles of broadcasts.

Rows are keyed by the zone's name; a change of the business zone setting starts
a fresh rollup (the old zone's rows are simply no longer read). Days are cut
with the zone's fixed UTC offset; in a zone whose offset changes (DST) in the
period, `offset_minutes` is None and callers count live instead, which keeps the
figures equal to the live report's.

Invariants relied upon (kept by `discounts.redeem`, the only writer of
redemptions): a discount is `redeemed` exactly when `redeemed_at` is set, and it
is redeemed no earlier than the business day it was issued.

This module stores and forgets days; `counting` counts rows into days (for
this and for the days a report must count live), and `tally` adds a report's
stored and live days up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.kpi.counting import Counter, DayCounts, counter
from backend.domain.kpi.days import as_date, every_day, midnight, runs
from backend.domain.models import (
    Customer,
    KpiConversion,
    KpiCustomerDay,
    KpiDiscountDay,
    KpiIssue,
    KpiRedemption,
)

SETTLE = timedelta(minutes=10)


def first_open_day(now: datetime, zone: ZoneInfo) -> date:
    """The first business day still counted live: today, or yesterday just after midnight.

    Services write events with the `now` their transaction began with, so one that
    began just before midnight may commit just after it; a day is stored only once
    it has been over for `SETTLE`, so such a late commit still lands in a live count.
    """
    return (now - SETTLE).astimezone(zone).date()


async def first_customer_day(session: AsyncSession, zone: ZoneInfo) -> date | None:
    first = await session.scalar(select(func.min(Customer.created_at)))
    return None if first is None else first.astimezone(zone).date()


async def stored_customer_days(session: AsyncSession, zone: ZoneInfo) -> dict[date, int]:
    rows = await session.execute(
        select(KpiCustomerDay.day, KpiCustomerDay.new_customers).where(
            KpiCustomerDay.zone == zone.key
        )
    )
    return {as_date(day): int(count) for day, count in rows}


async def stored_discount_days(
    session: AsyncSession, zone: ZoneInfo, first: date, last: date
) -> set[date]:
    rows = await session.scalars(
        select(KpiDiscountDay.day).where(
            KpiDiscountDay.zone == zone.key, KpiDiscountDay.day.between(first, last)
        )
    )
    return {as_date(day) for day in rows}


@dataclass(frozen=True)
class _Needs:
    """The closed days a report from some start needs stored, as (first, last) or None."""

    counter: Counter
    customer_days: tuple[date, date] | None  # the first customer's day to the last closed
    discount_days: tuple[date, date] | None  # the period's start to the last closed


async def _needs(
    session: AsyncSession, zone: ZoneInfo, start: date, now: datetime
) -> _Needs | None:
    """None in a zone whose offset changes in the days concerned (nothing is stored)."""
    last_closed = first_open_day(now, zone) - timedelta(days=1)
    first_customer = await first_customer_day(session, zone)
    first = min(start, first_customer or start)
    count = counter(session, zone, first, last_closed + timedelta(days=2))
    if count is None:
        return None
    customers = None
    if first_customer is not None and first_customer <= last_closed:
        customers = (first_customer, last_closed)
    discounts = (start, last_closed) if start <= last_closed else None
    return _Needs(count, customers, discounts)


async def lacks(session: AsyncSession, *, zone: ZoneInfo, start: date, now: datetime) -> bool:
    """Whether `remember` would store anything for a report from `start` (reads only).

    Three index look-ups, so a request can ask every time on its read session
    and open a write transaction only on the first report of a day.
    """
    needs = await _needs(session, zone, start, now)
    if needs is None:
        return False
    for model, span in (
        (KpiCustomerDay, needs.customer_days),
        (KpiDiscountDay, needs.discount_days),
    ):
        if span is None:
            continue
        stored = await session.scalar(
            select(func.count())
            .select_from(model)
            .where(model.zone == zone.key, model.day.between(*span))
        )
        if stored != (span[1] - span[0]).days + 1:
            return True
    return False


async def remember(session: AsyncSession, *, zone: ZoneInfo, start: date, now: datetime) -> int:
    """Count and store the closed days a report from `start` on needs and the rollup lacks.

    That is every day since the first customer for the customer counts, and
    from `start` to the last closed day for the discount counts (conversions
    need every redemption day up to now). Returns how many days were stored;
    a nightly call keeps the first report of the day fast too.

    Two callers filling the same day race for its marker row: the loser's rows
    are rolled back (to a savepoint) and the winner's stay.
    """
    needs = await _needs(session, zone, start, now)
    if needs is None:
        return 0
    count, stored = needs.counter, 0
    if needs.customer_days is not None:
        have = await stored_customer_days(session, zone)
        missing = set(every_day(*needs.customer_days)) - set(have)
        for run_first, run_last in runs(missing):
            counts = DayCounts()
            await count.customers(
                session,
                counts,
                midnight(run_first, zone),
                midnight(run_last + timedelta(days=1), zone),
            )
            rows = [
                {"zone": zone.key, "day": day, "new_customers": counts.customers.get(day, 0)}
                for day in every_day(run_first, run_last)
            ]
            stored += await _insert(session, [(KpiCustomerDay, rows)])
    if needs.discount_days is not None:
        have_days = await stored_discount_days(session, zone, *needs.discount_days)
        missing = set(every_day(*needs.discount_days)) - have_days
        for run_first, run_last in runs(missing):
            counts = DayCounts()
            await count.discount_days(session, counts, run_first, run_last)
            stored += await _insert(session, _discount_rows(zone, run_first, run_last, counts))
    return stored


def _discount_rows(
    zone: ZoneInfo, first: date, last: date, counts: DayCounts
) -> list[tuple[type[Any], list[dict[str, Any]]]]:
    key = zone.key
    return [
        (KpiDiscountDay, [{"zone": key, "day": day} for day in every_day(first, last)]),
        (
            KpiIssue,
            [
                {"zone": key, "day": day, "kind": kind, "broadcast_id": broadcast, "count": n}
                for (day, kind, broadcast), n in counts.issues.items()
            ],
        ),
        (
            KpiRedemption,
            [
                {
                    "zone": key,
                    "day": day,
                    "kind": kind,
                    "store": store,
                    "cashier_id": cashier,
                    "count": n,
                }
                for (day, kind, store, cashier), n in counts.redemptions.items()
            ],
        ),
        (
            KpiConversion,
            [
                {
                    "zone": key,
                    "day": day,
                    "issued_day": issued,
                    "kind": kind,
                    "broadcast_id": broadcast,
                    "count": n,
                }
                for (day, issued, kind, broadcast), n in counts.conversions.items()
            ],
        ),
    ]


async def _insert(
    session: AsyncSession, tables: list[tuple[type[Any], list[dict[str, Any]]]]
) -> int:
    """Insert the rows of one run of days (markers first); 0 if another caller stored them."""
    try:
        async with session.begin_nested():
            for model, rows in tables:
                if rows:
                    await session.execute(insert(model), rows)
    except IntegrityError:
        return 0
    return len(tables[0][1])


async def forget(session: AsyncSession, *, since: date | None = None) -> None:
    """Drop rolled-up days from `since` (a business day; None: every day), in every zone.

    Call it after writing rows dated in the past: the next report counts those
    days afresh. A row dated D in one zone may fall on D-1 or D+1 in another,
    so a day either side of `since` goes too.
    """
    models: list[Any] = [KpiCustomerDay, KpiDiscountDay, KpiIssue, KpiRedemption, KpiConversion]
    for model in models:
        statement = delete(model)
        if since is not None:
            statement = statement.where(model.day >= since - timedelta(days=1))
        await session.execute(statement)
