"""Business days: the shop's zone, its UTC offset, and a timestamp's local day in SQL.

Both ways of counting (the live report and the rollup) group rows by the local
day of a UTC timestamp, computed in SQL by shifting it by the zone's fixed
offset; the day comes back per database in its own shape and is normalised
here. A zone whose offset changes (DST) has no single offset: `offset_minutes`
says so, and callers then count otherwise.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, cast, func, literal_column, text
from sqlalchemy.orm import QueryableAttribute


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
    if dialect == "postgresql":
        return cast(column + literal_column(f"INTERVAL '{minutes} minutes'"), Date)
    raise NotImplementedError(f"KPIs are not implemented for {dialect}")


def as_date(value: object) -> date:
    """A day as the database returned it: a `date` from MySQL/MariaDB and PostgreSQL, a string
    from SQLite."""
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
