"""The period a report is asked for: checked, turned into UTC bounds, cut into buckets.

A period is a run of business-calendar days (both ends included) in the shop's
zone; it becomes the UTC half-open range [start 00:00 local, end+1 00:00 local).
Rows are grouped by *local day* in SQL; days are then folded into weeks or
months in Python, which is cheap: a window has at most `MAX_WINDOW_DAYS` days.
Every bucket of the window is present in every series, zeros included and in
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
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from backend.domain.clock import SUPPORTED_YEARS, in_supported_years
from backend.domain.errors import ValidationFailed
from backend.domain.kpi.days import as_date, local_day
from backend.domain.kpi.figures import Granularity, Point, Series

MAX_WINDOW_DAYS = 731


def bucket_start(day: date, granularity: Granularity) -> date:
    """The bucket a day belongs to: itself, the Monday of its ISO week, or the 1st."""
    if granularity is Granularity.WEEK:
        return day - timedelta(days=day.weekday())
    if granularity is Granularity.MONTH:
        return day.replace(day=1)
    return day


@dataclass(frozen=True)
class Window:
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
        day: ColumnElement[Any] = local_day(column, self.offset_minutes, self.dialect)
        return day

    def day(self, value: object) -> date:
        """A day as the database returned it, clamped into the window (see module doc)."""
        return min(max(as_date(value), self.start), self.end)


def check_period(start: date, end: date) -> None:
    """Raise ValidationFailed unless start..end is a period a report can be asked for."""
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


def window(session: AsyncSession, start: date, end: date, zone: ZoneInfo) -> Window:
    """The checked period start..end in `zone`, for the session's database."""
    check_period(start, end)
    first_midnight = datetime.combine(start, time())
    offset = zone.utcoffset(first_midnight)
    assert offset is not None  # a ZoneInfo always has an offset
    return Window(
        start=start,
        end=end,
        zone=zone,
        since=first_midnight.replace(tzinfo=zone).astimezone(UTC),
        until=datetime.combine(end + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC),
        offset_minutes=offset // timedelta(minutes=1),
        dialect=session.get_bind().dialect.name,
    )


@dataclass(frozen=True)
class Calendar:
    """The window cut into buckets; folds daily counts into series."""

    window: Window
    granularity: Granularity
    buckets: list[date]

    @classmethod
    def of(cls, window: Window, granularity: Granularity) -> Calendar:
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


def daily(rows: Iterable[tuple[object, int]], window: Window) -> dict[date, int]:
    """(raw day, count) rows as counts per day, each day clamped into the window."""
    counts: dict[date, int] = defaultdict(int)
    for raw_day, count in rows:
        counts[window.day(raw_day)] += int(count)
    return counts
