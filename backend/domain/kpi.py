"""Key figures over a period, with chart series: the admins' dashboard and analysts' queries.

A period is a run of business-calendar days (both ends included) in the shop's
zone; it becomes the UTC half-open range [start 00:00 local, end+1 00:00 local).

Built to stay cheap at a million customers and millions of discounts:

* `kpi` reads closed days from the daily rollup (`kpi_rollup`: a few hundred
  day rows) and counts only today, and any day the rollup lacks, from the rows;
  what has no history (customer statuses, sent messages, names) is read live.
  About a dozen statements, whatever the period's length.
* `kpi_live` counts everything from the rows, one grouped statement per measure
  family (six): the reference the rollup is checked against, and the report
  for a zone whose UTC offset changes within the period.
* The database aggregates (GROUP BY); no customer or discount row is loaded.
  Rows are grouped by *local day* in SQL. The day comes back per database in its
  own shape (a `date` from MySQL/MariaDB, a 'YYYY-MM-DD' string from SQLite) and
  is normalised here. Days are then folded into weeks or months in Python, which
  is cheap: a window has at most `MAX_WINDOW_DAYS` days.
* Every bucket of the window is present in every series, zeros included and in
  order, so a chart draws a series as it is.

Fixed-offset assumption: the local day of a timestamp is computed in SQL by
shifting it by the zone's UTC offset at the start of the window. That is exact
for Asia/Vladivostok (UTC+10 all year, no DST). In a zone with DST, rows within
an hour of local midnight on the other side of a transition would be counted on
the neighbouring day (the window's own boundaries stay exact: they are converted
with the zone's real rules, and a day shifted out of the window is clamped back
into it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from backend.domain import kpi_rollup
from backend.domain.clock import SUPPORTED_YEARS, in_supported_years
from backend.domain.errors import ValidationFailed
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

MAX_WINDOW_DAYS = 731
# The series name of redemptions whose store is unknown (Discount.store is NULL).
NO_STORE = "(no store)"
_CENT = Decimal("0.01")


class Granularity(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class Point:
    """One bucket of a series; `bucket` is the first day of the day, ISO week or month."""

    bucket: date
    value: float


@dataclass(frozen=True)
class Series:
    """A chart line: one point per bucket of the window, in order, zeros included.

    `total` is the figure for the whole window: the sum of the points for a count,
    the last point for a running total (`total_customers`).
    """

    name: str
    points: list[Point]
    total: float


@dataclass(frozen=True)
class CustomerKpi:
    total: int  # created before the end of the window
    new: int  # created within the window
    # Current counts by status over all customers (status has no history).
    active: int
    unsubscribed: int
    blocked: int
    new_customers: Series  # "new_customers": created per bucket
    total_customers: Series  # "total_customers": customers at the end of each bucket


@dataclass(frozen=True)
class DiscountKindKpi:
    """Discounts of one kind, or of all kinds together when `kind` is None."""

    kind: DiscountKind | None
    issued: int  # issued_at within the window
    redeemed: int  # redeemed_at within the window (whenever issued)
    converted: int  # issued within the window and redeemed by now (at any time)
    conversion: float  # converted / issued; 0.0 when nothing was issued
    issued_series: Series  # "issued:<kind>" or "issued:all"
    redeemed_series: Series  # "redeemed:<kind>" or "redeemed:all"


@dataclass(frozen=True)
class DiscountKpi:
    overall: DiscountKindKpi  # kind None, series "issued:all" / "redeemed:all"
    by_kind: list[DiscountKindKpi]  # every DiscountKind, in the enum's order


@dataclass(frozen=True)
class BroadcastConversion:
    """How the promo discounts a broadcast handed out (within the window) were used."""

    broadcast_id: int
    title: str
    sent: int  # deliveries with status "sent" (all of the broadcast's, not only the window's)
    issued: int  # promo discounts of this broadcast issued within the window
    redeemed: int  # of those, redeemed by now
    conversion: float  # redeemed / issued
    sent_conversion: float  # redeemed / sent; 0.0 when nothing was sent


@dataclass(frozen=True)
class CashierRedemptions:
    """Redemptions by one cashier in one store within the window.

    `store` is where the redemptions happened (Discount.store), so a cashier who
    worked in two stores has one entry per store. `cashier_id` and `name` are None
    for redemptions whose cashier has since been deleted.
    """

    cashier_id: int | None
    name: str | None
    store: str | None
    count: int


@dataclass(frozen=True)
class StoreRedemptions:
    store: str | None  # None: redemptions with no store recorded
    count: int
    series: Series  # named after the store (NO_STORE for None)


@dataclass(frozen=True)
class RedemptionKpi:
    by_cashier: list[CashierRedemptions]  # count descending
    by_store: list[StoreRedemptions]  # count descending


@dataclass(frozen=True)
class KpiReport:
    start: date
    end: date
    granularity: Granularity
    zone: str  # IANA key, e.g. "Asia/Vladivostok"
    as_of: datetime  # the `now` the current counts (customer statuses, conversions) belong to
    buckets: list[date]  # the buckets every series has, in order
    customers: CustomerKpi
    discounts: DiscountKpi
    broadcasts: list[BroadcastConversion]  # newest broadcast first
    redemptions: RedemptionKpi


@dataclass(frozen=True)
class StatusCount:
    status: DiscountStatus
    count: int


@dataclass(frozen=True)
class KindCount:
    kind: DiscountKind
    count: int


@dataclass(frozen=True)
class DiscountStats:
    """A stats card: discounts issued in the window, and redemptions in the window."""

    start: date
    end: date
    zone: str
    issued: int  # issued_at within the window
    by_status: list[StatusCount]  # of those issued in the window; every status, enum order
    by_kind: list[KindCount]  # of those issued in the window; every kind, enum order
    average_percent: float | None  # of those issued in the window; None when none
    redeemed: int  # redeemed_at within the window
    purchase_total: Decimal  # sum of purchase_amount of those redemptions, 2 decimals


def bucket_start(day: date, granularity: Granularity) -> date:
    """The bucket a day belongs to: itself, the Monday of its ISO week, or the 1st."""
    if granularity is Granularity.WEEK:
        return day - timedelta(days=day.weekday())
    if granularity is Granularity.MONTH:
        return day.replace(day=1)
    return day


@dataclass(frozen=True)
class _Window:
    """The validated period: UTC bounds, and how to find a row's local day in SQL."""

    start: date
    end: date
    zone: ZoneInfo
    since: datetime  # UTC, included
    until: datetime  # UTC, excluded
    offset_minutes: int
    dialect: str

    def contains(self, column: QueryableAttribute[Any]) -> ColumnElement[bool]:
        return and_(column >= self.since, column < self.until)

    def local_day(self, column: QueryableAttribute[Any]) -> ColumnElement[Any]:
        """The business day of a UTC timestamp column, shifted by the fixed offset."""
        day: ColumnElement[Any] = kpi_rollup.local_day(column, self.offset_minutes, self.dialect)
        return day

    def day(self, value: object) -> date:
        """A day as the database returned it, clamped into the window (see module doc)."""
        return min(max(kpi_rollup.as_date(value), self.start), self.end)


def _check(start: date, end: date) -> None:
    if start > end:
        raise ValidationFailed(f"the period ends ({end}) before it starts ({start})", field="end")
    days = (end - start).days + 1
    if days > MAX_WINDOW_DAYS:
        raise ValidationFailed(
            f"the period has {days} days; at most {MAX_WINDOW_DAYS} can be asked for at once",
            field="end",
        )
    if not (in_supported_years(start) and in_supported_years(end)):
        first, last = SUPPORTED_YEARS.start, SUPPORTED_YEARS.stop - 1
        raise ValidationFailed(
            f"the period must lie between the years {first} and {last}",
            field="start",
        )


def _window(session: AsyncSession, start: date, end: date, zone: ZoneInfo) -> _Window:
    _check(start, end)
    first_midnight = datetime.combine(start, time())
    offset = zone.utcoffset(first_midnight)
    assert offset is not None  # a ZoneInfo always has an offset
    return _Window(
        start=start,
        end=end,
        zone=zone,
        since=first_midnight.replace(tzinfo=zone).astimezone(UTC),
        until=datetime.combine(end + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC),
        offset_minutes=offset // timedelta(minutes=1),
        dialect=session.get_bind().dialect.name,
    )


@dataclass(frozen=True)
class _Calendar:
    """The window cut into buckets; folds daily counts into series."""

    window: _Window
    granularity: Granularity
    buckets: list[date]

    @classmethod
    def of(cls, window: _Window, granularity: Granularity) -> _Calendar:
        buckets: list[date] = []
        day = window.start
        while day <= window.end:
            bucket = bucket_start(day, granularity)
            if not buckets or buckets[-1] != bucket:
                buckets.append(bucket)
            day += timedelta(days=1)
        return cls(window, granularity, buckets)

    def series(self, name: str, daily: Mapping[date, int]) -> Series:
        per_bucket = dict.fromkeys(self.buckets, 0)
        for day, count in daily.items():
            per_bucket[bucket_start(day, self.granularity)] += count
        points = [Point(bucket, float(count)) for bucket, count in per_bucket.items()]
        return Series(name, points, float(sum(per_bucket.values())))


def _running_total(name: str, base: int, counts: Series) -> Series:
    level = float(base)
    points = []
    for point in counts.points:
        level += point.value
        points.append(Point(point.bucket, level))
    return Series(name, points, level)


def _money(value: object) -> Decimal:
    """A SUM of amounts: Decimal from MySQL/MariaDB, possibly a float from SQLite."""
    if value is None:
        return Decimal("0.00")
    if isinstance(value, Decimal):
        return value.quantize(_CENT)
    return Decimal(str(value)).quantize(_CENT)


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _redeemed_flag() -> ColumnElement[int]:
    return case((Discount.status == DiscountStatus.REDEEMED, 1), else_=0)


def _daily(rows: Iterable[tuple[object, int]], window: _Window) -> dict[date, int]:
    counts: dict[date, int] = defaultdict(int)
    for raw_day, count in rows:
        counts[window.day(raw_day)] += int(count)
    return counts


def check_period(start: date, end: date) -> None:
    """Raise ValidationFailed unless start..end is a period a report can be asked for."""
    _check(start, end)


async def kpi(
    session: AsyncSession,
    *,
    start: date,
    end: date,
    granularity: Granularity,
    zone: ZoneInfo,
    now: datetime,
) -> KpiReport:
    """Customers, discounts, broadcast conversion and redemptions over start..end.

    Closed days come from the rollup (`kpi_rollup`), today and days it lacks are
    counted live; the figures are those of `kpi_live`, which counts everything.
    Reads only: `kpi_rollup.remember` stores the days this had to count.
    """
    if now.tzinfo is None:
        raise ValueError("kpi needs an aware `now`")
    window = _window(session, start, end, zone)
    tally = await kpi_rollup.tally(session, zone=zone, start=start, end=end, now=now)
    if tally is None:  # the zone's offset changes within the period: no rollup
        return await kpi_live(
            session, start=start, end=end, granularity=granularity, zone=zone, now=now
        )
    calendar = _Calendar.of(window, granularity)
    issued: dict[DiscountKind, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for (kind, day), count in tally.issued.items():
        issued[kind][day] += count
    redeemed: dict[DiscountKind, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    by_store: dict[str | None, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for (kind, store, day), count in tally.redeemed.items():
        redeemed[kind][day] += count
        by_store[store][day] += count
    converted: dict[DiscountKind, int] = defaultdict(int)
    promo_redeemed: dict[int, int] = defaultdict(int)
    for (kind, broadcast_id), count in tally.converted.items():
        converted[kind] += count
        if kind is DiscountKind.PROMO and broadcast_id is not None:
            promo_redeemed[broadcast_id] += count
    promo = {b: (n, promo_redeemed.get(b, 0)) for b, n in tally.promo_issued.items()}
    return KpiReport(
        start=start,
        end=end,
        granularity=granularity,
        zone=zone.key,
        as_of=now,
        buckets=list(calendar.buckets),
        customers=await _customers_from_days(session, calendar, tally.new_customers),
        discounts=_discount_kpi_of(calendar, issued, redeemed, converted),
        broadcasts=await _broadcasts_of(session, promo),
        redemptions=RedemptionKpi(
            by_cashier=await _cashiers_of(session, tally.by_cashier),
            by_store=_store_redemptions(calendar, by_store),
        ),
    )


async def _customers_from_days(
    session: AsyncSession, calendar: _Calendar, new_per_day: Mapping[date, int]
) -> CustomerKpi:
    """Customer figures from customers created per day (every day, all time).

    Status has no history, so it is counted live; only the two small statuses
    are (a range of the (status, created_at) index), active is what remains.
    """
    window = calendar.window
    before = sum(count for day, count in new_per_day.items() if day < window.start)
    everyone = sum(new_per_day.values())
    by_status: dict[CustomerStatus, int] = defaultdict(int)
    others = [status for status in CustomerStatus if status is not CustomerStatus.ACTIVE]
    for status, count in await session.execute(
        select(Customer.status, func.count())
        .where(Customer.status.in_(others))
        .group_by(Customer.status)
    ):
        by_status[status] += int(count)
    by_status[CustomerStatus.ACTIVE] = everyone - sum(by_status.values())
    new = calendar.series(
        "new_customers",
        {day: count for day, count in new_per_day.items() if window.start <= day <= window.end},
    )
    return _customers(by_status, before, new)


def _customers(by_status: Mapping[CustomerStatus, int], before: int, new: Series) -> CustomerKpi:
    """The customer figures from the status counts, the count before the window and new ones."""
    total = _running_total("total_customers", before, new)
    return CustomerKpi(
        total=int(total.total),
        new=int(new.total),
        active=by_status[CustomerStatus.ACTIVE],
        unsubscribed=by_status[CustomerStatus.UNSUBSCRIBED],
        blocked=by_status[CustomerStatus.BLOCKED],
        new_customers=new,
        total_customers=total,
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
    calendar = _Calendar.of(_window(session, start, end, zone), granularity)
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
            by_store=_store_redemptions(calendar, store_daily),
        ),
    )


async def _customer_kpi(session: AsyncSession, calendar: _Calendar) -> CustomerKpi:
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
    new = calendar.series("new_customers", _daily(rows, window))
    return _customers(by_status, before, new)


async def _discount_kpi(
    session: AsyncSession, calendar: _Calendar
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

    return _discount_kpi_of(calendar, issued, redeemed, converted), by_store


def _discount_kpi_of(
    calendar: _Calendar,
    issued: Mapping[DiscountKind, Mapping[date, int]],
    redeemed: Mapping[DiscountKind, Mapping[date, int]],
    converted: Mapping[DiscountKind, int],
) -> DiscountKpi:
    empty: dict[date, int] = {}
    by_kind = [
        _kind_kpi(
            calendar,
            kind,
            kind.value,
            issued.get(kind, empty),
            redeemed.get(kind, empty),
            converted.get(kind, 0),
        )
        for kind in DiscountKind
    ]
    overall = _kind_kpi(
        calendar,
        None,
        "all",
        _add_up(issued.values()),
        _add_up(redeemed.values()),
        sum(converted.values()),
    )
    return DiscountKpi(overall=overall, by_kind=by_kind)


def _add_up(dailies: Iterable[Mapping[date, int]]) -> dict[date, int]:
    total: dict[date, int] = defaultdict(int)
    for daily in dailies:
        for day, count in daily.items():
            total[day] += count
    return total


def _kind_kpi(
    calendar: _Calendar,
    kind: DiscountKind | None,
    label: str,
    issued_daily: Mapping[date, int],
    redeemed_daily: Mapping[date, int],
    converted: int,
) -> DiscountKindKpi:
    issued = calendar.series(f"issued:{label}", issued_daily)
    redeemed = calendar.series(f"redeemed:{label}", redeemed_daily)
    return DiscountKindKpi(
        kind=kind,
        issued=int(issued.total),
        redeemed=int(redeemed.total),
        converted=converted,
        conversion=_ratio(converted, int(issued.total)),
        issued_series=issued,
        redeemed_series=redeemed,
    )


async def _broadcast_conversions(
    session: AsyncSession, window: _Window
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
    sent = _sent_count()
    rows = await session.execute(
        select(Broadcast.id, Broadcast.title, sent, promo.c.issued, promo.c.redeemed)
        .join_from(promo, Broadcast, Broadcast.id == promo.c.broadcast_id)
        .order_by(Broadcast.id.desc())
    )
    return [_conversion(*row) for row in rows]


def _sent_count() -> Any:
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


def _conversion(
    broadcast_id: int, title: str, sent: int | None, issued: int, redeemed: int | None
) -> BroadcastConversion:
    sent_total, issued_total, redeemed_total = int(sent or 0), int(issued), int(redeemed or 0)
    return BroadcastConversion(
        broadcast_id=broadcast_id,
        title=title,
        sent=sent_total,
        issued=issued_total,
        redeemed=redeemed_total,
        conversion=_ratio(redeemed_total, issued_total),
        sent_conversion=_ratio(redeemed_total, sent_total),
    )


async def _broadcasts_of(
    session: AsyncSession, promo: Mapping[int, tuple[int, int]]
) -> list[BroadcastConversion]:
    """Conversions from (issued, redeemed) per broadcast id; sent and titles read live.

    A broadcast that no longer exists drops out, as its discounts' broadcast_id
    (ON DELETE SET NULL) drops them out of the live count.
    """
    if not promo:
        return []
    rows = await session.execute(
        select(Broadcast.id, Broadcast.title, _sent_count())
        .where(Broadcast.id.in_(sorted(promo)))
        .order_by(Broadcast.id.desc())
    )
    return [
        _conversion(broadcast_id, title, sent, *promo[broadcast_id])
        for broadcast_id, title, sent in rows
    ]


async def _cashier_redemptions(session: AsyncSession, window: _Window) -> list[CashierRedemptions]:
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
    return _sorted_cashiers(
        CashierRedemptions(cashier_id=cashier_id, name=name, store=store, count=int(count))
        for cashier_id, name, store, count in rows
    )


async def _cashiers_of(
    session: AsyncSession, counts: Mapping[tuple[int | None, str | None], int]
) -> list[CashierRedemptions]:
    """Entries from counts per (cashier id as it was, store), with today's names.

    A cashier deleted since counts as None, as ON DELETE SET NULL makes the live
    count do; their redemptions then join the store's other unknown ones.
    """
    ids = sorted({cashier_id for cashier_id, _ in counts if cashier_id is not None})
    names: dict[int, str] = {}
    if ids:
        rows = await session.execute(select(Cashier.id, Cashier.name).where(Cashier.id.in_(ids)))
        names = {cashier_id: name for cashier_id, name in rows}
    merged: dict[tuple[int | None, str | None], int] = defaultdict(int)
    for (cashier_id, store), count in counts.items():
        if count:
            merged[(cashier_id if cashier_id in names else None, store)] += count
    return _sorted_cashiers(
        CashierRedemptions(
            cashier_id=cashier_id,
            name=names.get(cashier_id) if cashier_id is not None else None,
            store=store,
            count=count,
        )
        for (cashier_id, store), count in merged.items()
    )


def _sorted_cashiers(entries: Iterable[CashierRedemptions]) -> list[CashierRedemptions]:
    return sorted(
        entries,
        key=lambda entry: (
            -entry.count,
            entry.name is None,
            entry.name or "",
            entry.cashier_id or 0,
            entry.store or "",
        ),
    )


def _store_redemptions(
    calendar: _Calendar, daily_by_store: Mapping[str | None, Mapping[date, int]]
) -> list[StoreRedemptions]:
    entries = []
    for store, daily in daily_by_store.items():
        series = calendar.series(store if store is not None else NO_STORE, daily)
        entries.append(StoreRedemptions(store=store, count=int(series.total), series=series))
    return sorted(entries, key=lambda entry: (-entry.count, entry.store is None, entry.store or ""))


async def discount_stats(
    session: AsyncSession, *, start: date, end: date, zone: ZoneInfo
) -> DiscountStats:
    """Discounts issued in start..end by status and kind, and the period's redemptions."""
    window = _window(session, start, end, zone)
    by_status: dict[DiscountStatus, int] = defaultdict(int)
    by_kind: dict[DiscountKind, int] = defaultdict(int)
    percent_sum = 0
    for kind, status, count, percents in await session.execute(
        select(Discount.kind, Discount.status, func.count(), func.sum(Discount.percent))
        .where(Discount.kind.in_(list(DiscountKind)), window.contains(Discount.issued_at))
        .group_by(Discount.kind, Discount.status)
    ):
        by_status[status] += int(count)
        by_kind[kind] += int(count)
        percent_sum += int(percents or 0)
    issued = sum(by_kind.values())

    row = (
        await session.execute(
            select(func.count(), func.sum(Discount.purchase_amount)).where(
                window.contains(Discount.redeemed_at)
            )
        )
    ).one()
    redeemed, purchases = row
    return DiscountStats(
        start=start,
        end=end,
        zone=zone.key,
        issued=issued,
        by_status=[StatusCount(status, by_status[status]) for status in DiscountStatus],
        by_kind=[KindCount(kind, by_kind[kind]) for kind in DiscountKind],
        average_percent=percent_sum / issued if issued else None,
        redeemed=int(redeemed),
        purchase_total=_money(purchases),
    )
