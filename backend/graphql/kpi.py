"""The KPI dashboard in the admin API: key figures over a period, with chart series.

The types are declared in `kpi_types` and filled from the domain's report.

Before reading, the resolver asks (three index look-ups on its read session)
whether the rollup lacks closed days the report needs, which happens on the
first report of a day; only then does it store them (`rollup.remember`, a
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
from strawberry.types import Info

from backend.domain import kpi as report
from backend.domain.kpi import rollup
from backend.graphql.kpi_types import Granularity, KpiReport
from backend.graphql.permissions import allow

log = logging.getLogger("dvorik.graphql.kpi")
# One request of this process (per event loop) stores the rollup's days at a time.
_storing: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
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
        granularity: Granularity = Granularity.DAY,
    ) -> KpiReport:
        zone, now = info.context.settings.zone, info.context.now()
        report.check_period(start, end)
        session = await info.context.session()
        if await rollup.lacks(session, zone=zone, start=start, now=now):
            await _store_days(info, zone, start, now)
        figures = await report.kpi(
            session, start=start, end=end, granularity=granularity.domain(), zone=zone, now=now
        )
        return KpiReport.of(figures)


async def _store_days(info: Info, zone: ZoneInfo, start: dt.date, now: dt.datetime) -> None:
    lock = _storing.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock:
        # Asked of the primary: a lagging read replica would lack the days for a
        # few seconds more, and every dashboard meanwhile would store them again.
        async with info.context.runtime.read_sessions() as primary:
            if not await rollup.lacks(primary, zone=zone, start=start, now=now):
                return  # stored by the request this one waited for
        try:
            async with info.context.transaction() as writer:
                await rollup.remember(writer, zone=zone, start=start, now=now)
        except DBAPIError:
            log.warning("kpi: storing the rollup's missing days failed", exc_info=True)


ROOTS = {"query": KpiQueries}
