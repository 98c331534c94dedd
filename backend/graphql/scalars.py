"""The domain's enums, registered once as GraphQL enums (same classes, same values)."""

from datetime import datetime

import strawberry

from backend.domain.clock import SUPPORTED_YEARS, in_supported_years
from backend.domain.errors import ValidationFailed
from backend.domain.models import (
    ActorKind,
    AdminRole,
    BroadcastStatus,
    CustomerStatus,
    DeliveryStatus,
    DiscountKind,
    DiscountStatus,
    ParseMode,
)

for _enum in (
    ActorKind,
    AdminRole,
    BroadcastStatus,
    CustomerStatus,
    DeliveryStatus,
    DiscountKind,
    DiscountStatus,
    ParseMode,
):
    strawberry.enum(_enum)

__all__ = [
    "ActorKind",
    "AdminRole",
    "BroadcastStatus",
    "CustomerStatus",
    "DeliveryStatus",
    "DiscountKind",
    "DiscountStatus",
    "ParseMode",
]


def require_aware(value: datetime | None, field: str) -> datetime | None:
    """DateTime inputs must carry an offset ("2026-03-01T00:00:00" alone is ambiguous)
    and lie in the years the database can store (year 1 overflows on its way to UTC)."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed(
            f"{field} needs a time zone offset, e.g. 2026-03-01T00:00:00+10:00", field=field
        )
    if not in_supported_years(value):
        first, last = SUPPORTED_YEARS.start, SUPPORTED_YEARS.stop - 1
        raise ValidationFailed(f"{field} must be between the years {first} and {last}", field=field)
    return value
