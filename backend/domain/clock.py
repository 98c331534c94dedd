"""Time: the database keeps UTC, the shop lives in its business time zone.

Services take `now` as an argument where a rule depends on it, so tests can
fix the moment; this module is the one place that reads the wall clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def business_date(moment: datetime, zone: ZoneInfo) -> date:
    """The calendar day in the shop's zone at `moment` (an aware datetime)."""
    if moment.tzinfo is None:
        raise ValueError("business_date needs an aware datetime")
    return moment.astimezone(zone).date()
