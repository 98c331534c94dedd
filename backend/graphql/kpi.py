"""The KPI dashboard in the admin API: key figures over a period, with chart series.

The domain's frozen report dataclasses are registered as GraphQL types as they
are (the same classes, so nothing is copied); every series comes out as
`{ name total points { bucket value } }` with one point per bucket, zeros
included, so a chart draws it as it is.
"""

import datetime as dt

import strawberry
from strawberry.types import Info

from backend.domain import kpi as report
from backend.graphql import scalars  # noqa: F401 - registers DiscountKind, used by the report
from backend.graphql.permissions import allow

strawberry.enum(report.Granularity, description="How a period is cut into chart buckets.")
strawberry.type(
    report.Point,
    name="SeriesPoint",
    description="One bucket: its first day (the day, the ISO week's Monday or the 1st).",
)
strawberry.type(
    report.Series,
    description="A chart line: one point per bucket, in order, zeros included; `total` is "
    "the whole period's figure (for a running total, its last point).",
)
strawberry.type(
    report.CustomerKpi,
    description="`total`: customers created before the period's end; `new`: within it; "
    "`active`, `unsubscribed`, `blocked`: current counts over all customers.",
)
strawberry.type(
    report.DiscountKindKpi,
    description="Discounts of one kind (all kinds when `kind` is null): issued and redeemed "
    "within the period; `converted`: issued within it and redeemed by now.",
)
strawberry.type(report.DiscountKpi)
strawberry.type(
    report.BroadcastConversion,
    description="Promo discounts a broadcast handed out within the period, and how many "
    "were redeemed; `sent` counts all its delivered messages.",
)
strawberry.type(
    report.CashierRedemptions,
    description="Redemptions by one cashier in one store; null cashier: since deleted.",
)
strawberry.type(report.StoreRedemptions, description="Null store: no store was recorded.")
strawberry.type(report.RedemptionKpi)
strawberry.type(
    report.KpiReport,
    description="Key figures over business days start..end (both included) in the shop's "
    "zone; `buckets` are the buckets every series has.",
)


@strawberry.type
class KpiQueries:
    @strawberry.field(
        permission_classes=allow("Query.kpi"),
        description="At most 731 days; an end before the start is VALIDATION.",
    )
    async def kpi(
        self,
        info: Info,
        start: dt.date,
        end: dt.date,
        granularity: report.Granularity = report.Granularity.DAY,
    ) -> report.KpiReport:
        session = await info.context.session()
        return await report.kpi(
            session,
            start=start,
            end=end,
            granularity=granularity,
            zone=info.context.settings.zone,
            now=info.context.now(),
        )


ROOTS = {"query": KpiQueries}
