"""What a KPI report holds: frozen dataclasses, the same whichever way it was counted.

A transport shows them through types of its own (the GraphQL layer maps them
field by field), so these can change without changing a public API silently.
Every series has one point per bucket of the period, zeros included, in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from backend.domain.models import DiscountKind


class Granularity(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class Point:
    """One bucket of a series; `bucket` is the first day of the day, ISO week or month."""

    bucket: date
    value: float


@dataclass(frozen=True)
class Series:
    """A chart line: one point per bucket of the window, in order, zeros included.

    `total` is the figure for the whole window: the sum of the points for a count,
    the last point for a running total (`total_customers`).
    """

    name: str
    points: list[Point]
    total: float


@dataclass(frozen=True)
class CustomerKpi:
    total: int  # created before the end of the window
    new: int  # created within the window
    # Current counts by status over all customers (status has no history).
    active: int
    unsubscribed: int
    blocked: int
    new_customers: Series  # "new_customers": created per bucket
    total_customers: Series  # "total_customers": customers at the end of each bucket


@dataclass(frozen=True)
class DiscountKindKpi:
    """Discounts of one kind, or of all kinds together when `kind` is None."""

    kind: DiscountKind | None
    issued: int  # issued_at within the window
    redeemed: int  # redeemed_at within the window (whenever issued)
    converted: int  # issued within the window and redeemed by now (at any time)
    conversion: float  # converted / issued; 0.0 when nothing was issued
    issued_series: Series  # "issued:<kind>" or "issued:all"
    redeemed_series: Series  # "redeemed:<kind>" or "redeemed:all"


@dataclass(frozen=True)
class DiscountKpi:
    overall: DiscountKindKpi  # kind None, series "issued:all" / "redeemed:all"
    by_kind: list[DiscountKindKpi]  # every DiscountKind, in the enum's order


@dataclass(frozen=True)
class BroadcastConversion:
    """How the promo discounts a broadcast handed out (within the window) were used."""

    broadcast_id: int
    title: str
    sent: int  # deliveries with status "sent" (all of the broadcast's, not only the window's)
    issued: int  # promo discounts of this broadcast issued within the window
    redeemed: int  # of those, redeemed by now
    conversion: float  # redeemed / issued
    sent_conversion: float  # redeemed / sent; 0.0 when nothing was sent


@dataclass(frozen=True)
class CashierRedemptions:
    """Redemptions by one cashier in one store within the window.

    `store` is where the redemptions happened (Discount.store), so a cashier who
    worked in two stores has one entry per store. `cashier_id` and `name` are None
    for redemptions whose cashier has since been deleted.
    """

    cashier_id: int | None
    name: str | None
    store: str | None
    count: int


@dataclass(frozen=True)
class StoreRedemptions:
    store: str | None  # None: redemptions with no store recorded
    count: int
    series: Series  # named after the store (NO_STORE for None)


@dataclass(frozen=True)
class RedemptionKpi:
    by_cashier: list[CashierRedemptions]  # count descending
    by_store: list[StoreRedemptions]  # count descending


@dataclass(frozen=True)
class KpiReport:
    start: date
    end: date
    granularity: Granularity
    zone: str  # IANA key, e.g. "Asia/Vladivostok"
    as_of: datetime  # the `now` the current counts (customer statuses, conversions) belong to
    buckets: list[date]  # the buckets every series has, in order
    customers: CustomerKpi
    discounts: DiscountKpi
    broadcasts: list[BroadcastConversion]  # newest broadcast first
    redemptions: RedemptionKpi
