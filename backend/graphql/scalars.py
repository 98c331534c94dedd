"""The API's enums and the checks of its scalar inputs.

The enums are declared here, member by member, not taken from the domain: the
schema is a contract, so renaming or adding a member of a domain enum must not
change it. An API enum and its domain enum meet only through `to_api` and
`to_domain`, which pair members by value (the value the database stores) and
refuse a pair that is not declared in `DOMAIN_ENUMS`; a test checks that
every member of each pair has its counterpart, both ways.
"""

from datetime import datetime
from enum import Enum, StrEnum
from functools import cache
from typing import TypeVar, cast, overload

import strawberry

from backend.domain import models
from backend.domain.clock import SUPPORTED_YEARS, in_supported_years
from backend.domain.errors import ValidationFailed


@strawberry.enum
class ActorKind(Enum):
    ADMIN = "admin"
    SYSTEM = "system"
    CASHIER = "cashier"
    CUSTOMER = "customer"


@strawberry.enum
class AdminRole(Enum):
    OWNER = "owner"
    MARKETING = "marketing"
    READONLY = "readonly"


@strawberry.enum
class BroadcastStatus(Enum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


@strawberry.enum
class CustomerStatus(Enum):
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BLOCKED = "blocked"


@strawberry.enum
class DeliveryStatus(Enum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"


@strawberry.enum
class DiscountKind(Enum):
    SUBSCRIPTION = "subscription"
    BIRTHDAY = "birthday"
    MANUAL = "manual"
    PROMO = "promo"


@strawberry.enum
class DiscountStatus(Enum):
    ACTIVE = "active"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


@strawberry.enum
class JobState(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


@strawberry.enum(description="Where a message to one customer stands.")
class NotificationStatus(Enum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"


@strawberry.enum
class ParseMode(Enum):
    PLAIN = "plain"
    HTML = "HTML"
    MARKDOWN_V2 = "MarkdownV2"


@strawberry.enum(description="Where a background task run stands.")
class TaskRunState(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


DOMAIN_ENUMS: dict[type[Enum], type[StrEnum]] = {
    ActorKind: models.ActorKind,
    AdminRole: models.AdminRole,
    BroadcastStatus: models.BroadcastStatus,
    CustomerStatus: models.CustomerStatus,
    DeliveryStatus: models.DeliveryStatus,
    DiscountKind: models.DiscountKind,
    DiscountStatus: models.DiscountStatus,
    JobState: models.JobState,
    NotificationStatus: models.NotificationStatus,
    ParseMode: models.ParseMode,
    TaskRunState: models.TaskRunState,
}
"""Each API enum and the domain enum it shows."""

A = TypeVar("A", bound=Enum)
D = TypeVar("D", bound=StrEnum)


@overload
def to_api(api_enum: type[A], member: StrEnum) -> A: ...
@overload
def to_api(api_enum: type[A], member: None) -> None: ...
def to_api(api_enum: type[A], member: StrEnum | None) -> A | None:
    """The API's member for a domain member: `to_api(DiscountKind, row.kind)`."""
    if member is None:
        return None
    return cast(A, _api_member(api_enum, member))


@cache
def _api_member(api_enum: type[A], member: StrEnum) -> A:
    """Worked out once per pair: a customers page maps about 500 members (issue 19)."""
    _check_pair(api_enum, type(member))
    return api_enum(member.value)


@overload
def to_domain(domain_enum: type[D], member: Enum) -> D: ...
@overload
def to_domain(domain_enum: type[D], member: None) -> None: ...
def to_domain(domain_enum: type[D], member: Enum | None) -> D | None:
    """The domain's member for an API member: `to_domain(models.DiscountKind, input.kind)`."""
    if member is None:
        return None
    _check_pair(type(member), domain_enum)
    return domain_enum(member.value)


def _check_pair(api_enum: type[Enum], domain_enum: type[Enum]) -> None:
    if DOMAIN_ENUMS.get(api_enum) is not domain_enum:
        raise TypeError(f"{api_enum.__name__} does not show {domain_enum.__name__}")


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
