"""The KPI report's GraphQL types, declared here and filled from the domain's report.

The domain's frozen dataclasses (`backend.domain.kpi.figures`) are its own to
change; these types are the public API. Each has an `of` that copies a domain
object field by field (`mapping.copied`: a field the domain no longer has
fails loudly instead of leaving the API), so renaming a domain field changes
no schema. Every series comes out as `{ name total points { bucket value } }`
with one point per bucket, zeros included, so a chart draws it as it is.
"""

import datetime as dt
from enum import Enum

import strawberry

from backend.domain import kpi as report
from backend.graphql.mapping import copied
from backend.graphql.scalars import DiscountKind, to_api


@strawberry.enum(description="How a period is cut into chart buckets.")
class Granularity(Enum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"

    @classmethod
    def of(cls, granularity: report.Granularity) -> "Granularity":
        return cls(granularity.value)

    def domain(self) -> report.Granularity:
        return report.Granularity(self.value)


@strawberry.type(
    description="One bucket: its first day (the day, the ISO week's Monday or the 1st)."
)
class SeriesPoint:
    bucket: dt.date
    value: float


@strawberry.type(
    description="A chart line: one point per bucket, in order, zeros included; `total` is "
    "the whole period's figure (for a running total, its last point)."
)
class Series:
    name: str
    points: list[SeriesPoint]
    total: float

    @classmethod
    def of(cls, series: report.Series) -> "Series":
        # Thousands of points in a long daily report: built directly, not copied.
        points = [SeriesPoint(bucket=point.bucket, value=point.value) for point in series.points]
        return copied(cls, series, points=points)


@strawberry.type(
    description="`total`: customers created before the period's end; `new`: within it; "
    "`active`, `unsubscribed`, `blocked`: current counts over all customers."
)
class CustomerKpi:
    total: int
    new: int
    active: int
    unsubscribed: int
    blocked: int
    new_customers: Series
    total_customers: Series

    @classmethod
    def of(cls, customers: report.CustomerKpi) -> "CustomerKpi":
        return copied(
            cls,
            customers,
            new_customers=Series.of(customers.new_customers),
            total_customers=Series.of(customers.total_customers),
        )


@strawberry.type(
    description="Discounts of one kind (all kinds when `kind` is null): issued and redeemed "
    "within the period; `converted`: issued within it and redeemed by now."
)
class DiscountKindKpi:
    kind: DiscountKind | None
    issued: int
    redeemed: int
    converted: int
    conversion: float
    issued_series: Series
    redeemed_series: Series

    @classmethod
    def of(cls, figures: report.DiscountKindKpi) -> "DiscountKindKpi":
        return copied(
            cls,
            figures,
            kind=to_api(DiscountKind, figures.kind),
            issued_series=Series.of(figures.issued_series),
            redeemed_series=Series.of(figures.redeemed_series),
        )


@strawberry.type
class DiscountKpi:
    overall: DiscountKindKpi
    by_kind: list[DiscountKindKpi]

    @classmethod
    def of(cls, discounts: report.DiscountKpi) -> "DiscountKpi":
        return cls(
            overall=DiscountKindKpi.of(discounts.overall),
            by_kind=[DiscountKindKpi.of(figures) for figures in discounts.by_kind],
        )


@strawberry.type(
    description="Promo discounts a broadcast handed out within the period, and how many "
    "were redeemed; `sent` counts all its delivered messages."
)
class BroadcastConversion:
    broadcast_id: int
    title: str
    sent: int
    issued: int
    redeemed: int
    conversion: float
    sent_conversion: float

    @classmethod
    def of(cls, conversion: report.BroadcastConversion) -> "BroadcastConversion":
        return copied(cls, conversion)


@strawberry.type(
    description="Redemptions by one cashier in one store; null cashier: since deleted."
)
class CashierRedemptions:
    cashier_id: int | None
    name: str | None
    store: str | None
    count: int

    @classmethod
    def of(cls, redemptions: report.CashierRedemptions) -> "CashierRedemptions":
        return copied(cls, redemptions)


@strawberry.type(description="Null store: no store was recorded.")
class StoreRedemptions:
    store: str | None
    count: int
    series: Series

    @classmethod
    def of(cls, redemptions: report.StoreRedemptions) -> "StoreRedemptions":
        return copied(cls, redemptions, series=Series.of(redemptions.series))


@strawberry.type
class RedemptionKpi:
    by_cashier: list[CashierRedemptions]
    by_store: list[StoreRedemptions]

    @classmethod
    def of(cls, redemptions: report.RedemptionKpi) -> "RedemptionKpi":
        return cls(
            by_cashier=[CashierRedemptions.of(entry) for entry in redemptions.by_cashier],
            by_store=[StoreRedemptions.of(entry) for entry in redemptions.by_store],
        )


@strawberry.type(
    description="Key figures over business days start..end (both included) in the shop's "
    "zone; `buckets` are the buckets every series has."
)
class KpiReport:
    start: dt.date
    end: dt.date
    granularity: Granularity
    zone: str
    as_of: dt.datetime
    buckets: list[dt.date]
    customers: CustomerKpi
    discounts: DiscountKpi
    broadcasts: list[BroadcastConversion]
    redemptions: RedemptionKpi

    @classmethod
    def of(cls, figures: report.KpiReport) -> "KpiReport":
        return copied(
            cls,
            figures,
            granularity=Granularity.of(figures.granularity),
            customers=CustomerKpi.of(figures.customers),
            discounts=DiscountKpi.of(figures.discounts),
            broadcasts=[BroadcastConversion.of(entry) for entry in figures.broadcasts],
            redemptions=RedemptionKpi.of(figures.redemptions),
        )
