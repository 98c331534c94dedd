"""The closed vocabularies of the domain, stored as short strings."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import Enum


class CustomerStatus(StrEnum):
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BLOCKED = "blocked"


class DiscountKind(StrEnum):
    SUBSCRIPTION = "subscription"
    BIRTHDAY = "birthday"
    MANUAL = "manual"
    PROMO = "promo"


class DiscountStatus(StrEnum):
    ACTIVE = "active"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class AdminRole(StrEnum):
    OWNER = "owner"
    MARKETING = "marketing"
    READONLY = "readonly"


class ParseMode(StrEnum):
    PLAIN = "plain"
    HTML = "HTML"
    MARKDOWN_V2 = "MarkdownV2"


class BroadcastStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"


class ActorKind(StrEnum):
    ADMIN = "admin"
    SYSTEM = "system"
    CASHIER = "cashier"
    CUSTOMER = "customer"


def enum_column(enum: type[StrEnum]) -> Enum:
    """A VARCHAR column holding the enum's values (no native ENUM, no CHECK)."""
    values: Any = lambda members: [member.value for member in members]  # noqa: E731
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=values,
        validate_strings=True,
    )
