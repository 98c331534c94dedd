"""Time: the database keeps UTC, the shop lives in its business time zone.

Services take `now` as an argument where a rule depends on it, so tests can
fix the moment; this module is the one place that reads the wall clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

# Far outside any real moment, yet inside what both databases and `astimezone`
# can hold: a bound such as 9999-12-31T23:59-12:00 overflows on its way to UTC.
SUPPORTED_YEARS = range(1900, 9000)


def utcnow() -> datetime:
    return datetime.now(UTC)


def business_date(moment: datetime, zone: tzinfo) -> date:
    """The calendar day in the shop's zone at `moment` (an aware datetime)."""
    if moment.tzinfo is None:
        raise ValueError("business_date needs an aware datetime")
    return moment.astimezone(zone).date()


def in_supported_years(moment: date) -> bool:
    """Whether a day (or a moment: a datetime is a date too) lies in SUPPORTED_YEARS."""
    return moment.year in SUPPORTED_YEARS


def end_of_business_day(day: date, zone: tzinfo) -> datetime:
    """The first moment after `day` in the shop's zone (its next midnight), in UTC.

    A code "valid until the 20th" stores this as `expires_at`: it is usable while
    `now < expires_at` and expired once `expires_at <= now`, so 23:59:59 on the
    20th still counts and 00:00 on the 21st does not.
    """
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)


def last_valid_day(expires_at: datetime, zone: tzinfo) -> date:
    """The last business day a code expiring at `expires_at` can be used: what texts show.

    `expires_at` is exclusive, so a code ending at midnight belongs to the day
    before; a code ending mid-day (rows older than migration 0010) to that day.
    """
    return business_date(expires_at - timedelta(microseconds=1), zone)


def valid_through(now: datetime, days: int, zone: tzinfo) -> datetime:
    """`expires_at` for a code issued at `now` that lasts `days` days: to the end of the last one.

    Issued on the 6th for 14 days, it shows "until the 20th" and is accepted
    until 23:59:59.999999 on the 20th in the shop's zone, whatever the hour of issue.
    """
    return end_of_business_day(business_date(now, zone) + timedelta(days=days), zone)


def shop_zone() -> ZoneInfo:
    """The shop's zone (TIMEZONE) for callers that were not handed one.

    Entry points pass `settings.zone` explicitly; this is the fallback that
    keeps a service correct when a caller forgets, read lazily so importing
    the domain reads no environment.
    """
    from backend.settings import get_settings

    return get_settings().zone
