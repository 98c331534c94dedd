"""The KPI dashboard in the admin API: key figures over a period, with chart series.

The domain's frozen report dataclasses are registered as GraphQL types as they
are (the same classes, so nothing is copied), except the three that hold a
`DiscountKind`, declared here to map it to the API's enum; every series comes out as
`{ name total points { bucket value } }` with one point per bucket, zeros
included, so a chart draws it as it is.

Before reading, the resolver asks (three index look-ups on its read session)
whether the rollup lacks closed days the report needs, which happens on the
first report of a day; only then does it store them (`kpi_rollup.remember`, a
write transaction of its own), one request at a time per process, so a crowd
of dashboards opening after midnight neither counts the same days at once nor
takes the pool's connections kept for writes and health checks. If storing
fails (a lost race ending in a deadlock, a read-only database), the report is
still right: it counts the days the rollup lacks live.
"""

import asyncio
import datetime as dt
import logging
import weakref
from zoneinfo import ZoneInfo

import strawberry
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from backend.domain import kpi as report
from backend.domain import kpi_rollup
from backend.graphql.mapping import copied
from backend.graphql.permissions import allow
from backend.graphql.scalars import DiscountKind, to_api

log = logging.getLogger("dvorik.graphql.kpi")
# One request of this process (per event loop) stores the rollup's days at a time.
_storing: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)

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
    issued_series: report.Series
    redeemed_series: report.Series

    @classmethod
    def of(cls, figures: report.DiscountKindKpi) -> "DiscountKindKpi":
        return copied(cls, figures, kind=to_api(DiscountKind, figures.kind))


@strawberry.type
class DiscountKpi:
    overall: DiscountKindKpi
    by_kind: list[DiscountKindKpi]

    @classmethod
    def of(cls, figures: report.DiscountKpi) -> "DiscountKpi":
        return cls(
            overall=DiscountKindKpi.of(figures.overall),
            by_kind=[DiscountKindKpi.of(kind) for kind in figures.by_kind],
        )


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


@strawberry.type(
    description="Key figures over business days start..end (both included) in the shop's "
    "zone; `buckets` are the buckets every series has."
)
class KpiReport:
    start: dt.date
    end: dt.date
    granularity: report.Granularity
    zone: str
    as_of: dt.datetime
    buckets: list[dt.date]
    customers: report.CustomerKpi
    discounts: DiscountKpi
    broadcasts: list[report.BroadcastConversion]
    redemptions: report.RedemptionKpi

    @classmethod
    def of(cls, figures: report.KpiReport) -> "KpiReport":
        return cls(
            start=figures.start,
            end=figures.end,
            granularity=figures.granularity,
            zone=figures.zone,
            as_of=figures.as_of,
            buckets=figures.buckets,
            customers=figures.customers,
            discounts=DiscountKpi.of(figures.discounts),
            broadcasts=figures.broadcasts,
            redemptions=figures.redemptions,
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
    ) -> KpiReport:
        zone, now = info.context.settings.zone, info.context.now()
        report.check_period(start, end)
        session = await info.context.session()
        if await kpi_rollup.lacks(session, zone=zone, start=start, now=now):
            await _store_days(info, session, zone, start, now)
        figures = await report.kpi(
            session, start=start, end=end, granularity=granularity, zone=zone, now=now
        )
        return KpiReport.of(figures)


async def _store_days(
    info: Info, session: AsyncSession, zone: ZoneInfo, start: dt.date, now: dt.datetime
) -> None:
    lock = _storing.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock:
        if not await kpi_rollup.lacks(session, zone=zone, start=start, now=now):
            return  # stored by the request this one waited for
        try:
            async with info.context.transaction() as writer:
                await kpi_rollup.remember(writer, zone=zone, start=start, now=now)
        except DBAPIError:
            log.warning("kpi: storing the rollup's missing days failed", exc_info=True)


ROOTS = {"query": KpiQueries}
