"""The shop as planned in memory: the drawn people and cashiers, the rows per table, the summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class DemoSummary:
    """How many rows of each kind `generate` wrote."""

    customers: int
    discounts: int
    segments: int
    broadcasts: int
    deliveries: int
    cashiers: int = 0
    tags: int = 0


@dataclass
class Person:
    """A customer being drawn: their row and what the rest of the plan needs to know."""

    row: dict[str, Any]
    home_store: str
    tags: list[str]
    # When a blocked customer blocked the bot; we learn of it when a message bounces.
    blocked_bot_at: datetime | None = None

    @property
    def id(self) -> int:
        return int(self.row["id"])

    def active_at(self, moment: datetime) -> bool:
        subscribed: datetime | None = self.row["subscribed_at"]
        left: datetime | None = self.row["unsubscribed_at"]
        return subscribed is not None and subscribed <= moment and (left is None or moment < left)


@dataclass
class Cashier:
    """A drawn cashier: who may have redeemed a discount, where and since when."""

    id: int
    store: str
    joined_at: datetime


@dataclass
class Plan:
    """The rows of every table, as dicts ready for Core inserts."""

    customers: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    customer_tags: list[dict[str, Any]] = field(default_factory=list)
    cashiers: list[dict[str, Any]] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)
    broadcasts: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    discounts: list[dict[str, Any]] = field(default_factory=list)

    def stages(self) -> list[tuple[str, list[tuple[str, list[dict[str, Any]]]]]]:
        """(stage, [(table, rows)]) in an order that satisfies the foreign keys."""
        return [
            ("customers", [("customers", self.customers)]),
            ("tags", [("tags", self.tags), ("customer_tags", self.customer_tags)]),
            ("cashiers", [("cashiers", self.cashiers)]),
            ("segments", [("segments", self.segments)]),
            ("broadcasts", [("broadcasts", self.broadcasts)]),
            ("deliveries", [("broadcast_deliveries", self.deliveries)]),
            ("discounts", [("discounts", self.discounts)]),
        ]

    def summary(self) -> DemoSummary:
        return DemoSummary(
            customers=len(self.customers),
            discounts=len(self.discounts),
            segments=len(self.segments),
            broadcasts=len(self.broadcasts),
            deliveries=len(self.deliveries),
            cashiers=len(self.cashiers),
            tags=len(self.tags),
        )
