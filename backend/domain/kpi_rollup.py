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
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, delete, func, insert, literal_column, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from backend.domain.models import (
    Customer,
    Discount,
    DiscountKind,
    DiscountStatus,
    KpiConversion,
    KpiCustomerDay,
    KpiDiscountDay,
    KpiIssue,
    KpiRedemption,
)

SETTLE = timedelta(minutes=10)
IssueKey = tuple[date, DiscountKind, int | None]  # day, kind, broadcast
RedemptionKey = tuple[date, DiscountKind, str | None, int | None]  # day, kind, store, cashier
ConversionKey = tuple[date, date, DiscountKind, int | None]  # redeemed, issued, kind, broadcast


def local_day(column: QueryableAttribute[Any], offset_minutes: int, dialect: str) -> Any:
    """The business day of a UTC timestamp column, shifted by a fixed offset, in SQL.

    The offset is an int formatted into the SQL, never user text; a literal (not
    a bound parameter) keeps the SELECT and GROUP BY expressions identical,
    which MySQL's ONLY_FULL_GROUP_BY requires.
    """
    minutes = offset_minutes
    if dialect == "sqlite":
        return func.date(column, literal_column(f"'{minutes:+d} minutes'"))
    if dialect in ("mysql", "mariadb"):
        return func.date(func.date_add(column, text(f"INTERVAL {minutes} MINUTE")))
    raise NotImplementedError(f"KPIs are not implemented for {dialect}")


def as_date(value: object) -> date:
    """A day as the database returned it: a `date` from MySQL/MariaDB, a string from SQLite."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise TypeError(f"unexpected day value from the database: {value!r}")


@functools.cache
def _year_offsets(zone_key: str, year: int) -> frozenset[int]:
    """The zone's UTC offsets (minutes) at the local midnights of a year."""
    zone = ZoneInfo(zone_key)
    first = datetime(year, 1, 1)
    offsets = set()
    for number in range((date(year + 1, 1, 1) - first.date()).days):
        offset = zone.utcoffset(first + timedelta(days=number))
        assert offset is not None  # a ZoneInfo always has an offset
        offsets.add(offset // timedelta(minutes=1))
    return frozenset(offsets)


def offset_minutes(zone: ZoneInfo, first: date, last: date) -> int | None:
    """The zone's UTC offset if it is the same at every midnight of first..last, else None."""
    offsets: set[int] = set()
    for year in range(first.year, last.year + 1):
        offsets |= _year_offsets(zone.key, year)
    return next(iter(offsets)) if len(offsets) == 1 else None


def first_open_day(now: datetime, zone: ZoneInfo) -> date:
    """The first business day still counted live: today, or yesterday just after midnight.

    Services write events with the `now` their transaction began with, so one that
    began just before midnight may commit just after it; a day is stored only once
    it has been over for `SETTLE`, so such a late commit still lands in a live count.
    """
    return (now - SETTLE).astimezone(zone).date()


def midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC moment a business day starts."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def runs(days: Iterable[date]) -> Iterator[tuple[date, date]]:
    """Consecutive days as (first, last) pairs, in order."""
    ordered = sorted(days)
    while ordered:
        first = last = ordered.pop(0)
        while ordered and ordered[0] == last + timedelta(days=1):
            last = ordered.pop(0)
        yield first, last


def every_day(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


@dataclass
class DayCounts:
    """Counts at the rollup's grain over some days, as stored or as just counted."""

    customers: dict[date, int] = field(default_factory=lambda: defaultdict(int))
    issues: dict[IssueKey, int] = field(default_factory=lambda: defaultdict(int))
    redemptions: dict[RedemptionKey, int] = field(default_factory=lambda: defaultdict(int))
    conversions: dict[ConversionKey, int] = field(default_factory=lambda: defaultdict(int))


@dataclass(frozen=True)
class Counter:
    """Counts rows into DayCounts by business day: a zone with its fixed offset, a dialect."""

    zone: ZoneInfo
    offset: int
    dialect: str

    def day(self, column: QueryableAttribute[Any]) -> Any:
        return local_day(column, self.offset, self.dialect)

    @staticmethod
    def _within(
        column: QueryableAttribute[Any], since: datetime, until: datetime | None
    ) -> ColumnElement[bool]:
        condition = column >= since
        return condition if until is None else condition & (column < until)

    async def customers(
        self, session: AsyncSession, counts: DayCounts, since: datetime, until: datetime | None
    ) -> None:
        day = self.day(Customer.created_at)
        for raw_day, count in await session.execute(
            select(day, func.count())
            .where(self._within(Customer.created_at, since, until))
            .group_by(day)
        ):
            counts.customers[as_date(raw_day)] += int(count)

    async def issues(
        self, session: AsyncSession, counts: DayCounts, since: datetime, until: datetime | None
    ) -> None:
        day = self.day(Discount.issued_at)
        # Listing every kind lets the (kind, issued_at, ...) index serve the range on MariaDB.
        for kind, broadcast_id, raw_day, count in await session.execute(
            select(Discount.kind, Discount.broadcast_id, day, func.count())
            .where(
                Discount.kind.in_(list(DiscountKind)),
                self._within(Discount.issued_at, since, until),
            )
            .group_by(Discount.kind, Discount.broadcast_id, day)
        ):
            counts.issues[(as_date(raw_day), kind, broadcast_id)] += int(count)

    async def redemptions(
        self, session: AsyncSession, counts: DayCounts, since: datetime, until: datetime | None
    ) -> None:
        day = self.day(Discount.redeemed_at)
        for kind, store, cashier_id, raw_day, count in await session.execute(
            select(Discount.kind, Discount.store, Discount.cashier_id, day, func.count())
            .where(self._within(Discount.redeemed_at, since, until))
            .group_by(Discount.kind, Discount.store, Discount.cashier_id, day)
        ):
            counts.redemptions[(as_date(raw_day), kind, store, cashier_id)] += int(count)

    async def conversions(
        self, session: AsyncSession, counts: DayCounts, since: datetime, until: datetime | None
    ) -> None:
        redeemed, issued = self.day(Discount.redeemed_at), self.day(Discount.issued_at)
        for kind, broadcast_id, raw_redeemed, raw_issued, count in await session.execute(
            select(Discount.kind, Discount.broadcast_id, redeemed, issued, func.count())
            .where(
                self._within(Discount.redeemed_at, since, until),
                Discount.status == DiscountStatus.REDEEMED,
            )
            .group_by(Discount.kind, Discount.broadcast_id, redeemed, issued)
        ):
            key = (as_date(raw_redeemed), as_date(raw_issued), kind, broadcast_id)
            counts.conversions[key] += int(count)

    async def discount_days(
        self, session: AsyncSession, counts: DayCounts, first: date, last: date
    ) -> None:
        """Issues, redemptions and conversions of the business days first..last."""
        since, until = midnight(first, self.zone), midnight(last + timedelta(days=1), self.zone)
        await self.issues(session, counts, since, until)
        await self.redemptions(session, counts, since, until)
        await self.conversions(session, counts, since, until)


def counter(session: AsyncSession, zone: ZoneInfo, first: date, last: date) -> Counter | None:
    """A Counter for days first..last, or None when the zone's offset changes in them."""
    offset = offset_minutes(zone, first, last)
    if offset is None:
        return None
    return Counter(zone, offset, session.get_bind().dialect.name)


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
