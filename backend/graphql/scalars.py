"""The domain's enums, registered once as GraphQL enums (same classes, same values)."""

from datetime import datetime

import strawberry

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
    """DateTime inputs must carry an offset: "2026-03-01T00:00:00" alone is ambiguous."""
    if value is not None and value.tzinfo is None:
        raise ValidationFailed(
            f"{field} needs a time zone offset, e.g. 2026-03-01T00:00:00+10:00", field=field
        )
    return value
