"""The domain's enums, registered once as GraphQL enums (same classes, same values)."""

import strawberry

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
