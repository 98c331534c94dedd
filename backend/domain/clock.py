"""Time: the database keeps UTC, the shop lives in its business time zone.

Services take `now` as an argument where a rule depends on it, so tests can
fix the moment; this module is the one place that reads the wall clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

# Far outside any real moment, yet inside what both databases and `astimezone`
# can hold: a bound such as 9999-12-31T23:59-12:00 overflows on its way to UTC.
SUPPORTED_YEARS = range(1900, 9000)


def utcnow() -> datetime:
    return datetime.now(UTC)


def business_date(moment: datetime, zone: ZoneInfo) -> date:
    """The calendar day in the shop's zone at `moment` (an aware datetime)."""
    if moment.tzinfo is None:
        raise ValueError("business_date needs an aware datetime")
    return moment.astimezone(zone).date()


def in_supported_years(moment: date) -> bool:
    """Whether a day (or a moment: a datetime is a date too) lies in SUPPORTED_YEARS."""
    return moment.year in SUPPORTED_YEARS
