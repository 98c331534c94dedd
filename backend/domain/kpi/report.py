"""The report as the dashboard reads it (`kpi`): closed days from the rollup, the rest live.

The tally gives counts per day and key; this folds them into the sections
`live.kpi_live` builds from the rows, so both reports agree figure by figure.
What has no history (customer statuses, sent messages, cashiers' names,
broadcasts' titles) is read live. About a dozen statements, whatever the
period's length. In a zone whose offset changes within the period there is no
rollup, and the live report is returned.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.kpi import period, sections
from backend.domain.kpi.figures import (
    BroadcastConversion,
    CashierRedemptions,
    CustomerKpi,
    Granularity,
    KpiReport,
    RedemptionKpi,
)
from backend.domain.kpi.live import kpi_live, sent_count
from backend.domain.kpi.period import Calendar
from backend.domain.kpi.tally import Tally, tally
from backend.domain.models import Broadcast, Cashier, Customer, CustomerStatus, DiscountKind


async def kpi(
    session: AsyncSession,
    *,
    start: date,
    end: date,
    granularity: Granularity,
    zone: ZoneInfo,
    now: datetime,
) -> KpiReport:
    """Customers, discounts, broadcast conversion and redemptions over start..end.

    Closed days come from the rollup (`rollup`), today and days it lacks are
    counted live; the figures are those of `kpi_live`, which counts everything.
    Reads only: `rollup.remember` stores the days this had to count.
    """
    if now.tzinfo is None:
        raise ValueError("kpi needs an aware `now`")
    window = period.window(session, start, end, zone)
    counted = await tally(session, zone=zone, start=start, end=end, now=now)
    if counted is None:  # the zone's offset changes within the period: no rollup
        return await kpi_live(
            session, start=start, end=end, granularity=granularity, zone=zone, now=now
        )
    calendar = Calendar.of(window, granularity)
    folded = _Folded.of(counted)
    return KpiReport(
        start=start,
        end=end,
        granularity=granularity,
        zone=zone.key,
        as_of=now,
        buckets=list(calendar.buckets),
        customers=await _customers_from_days(session, calendar, counted.new_customers),
        discounts=sections.discount_kpi_of(
            calendar, folded.issued, folded.redeemed, folded.converted
        ),
        broadcasts=await _broadcasts_of(session, folded.promo),
        redemptions=RedemptionKpi(
            by_cashier=await _cashiers_of(session, counted.by_cashier),
            by_store=sections.store_redemptions(calendar, folded.by_store),
        ),
    )


@dataclass(frozen=True)
class _Folded:
    """The tally's counts in the shapes the sections take."""

    issued: dict[DiscountKind, dict[date, int]]
    redeemed: dict[DiscountKind, dict[date, int]]
    by_store: dict[str | None, dict[date, int]]
    converted: dict[DiscountKind, int]
    promo: dict[int, tuple[int, int]]  # broadcast id → (issued, redeemed)

    @classmethod
    def of(cls, counted: Tally) -> _Folded:
        issued: dict[DiscountKind, dict[date, int]] = defaultdict(lambda: defaultdict(int))
        for (kind, day), count in counted.issued.items():
            issued[kind][day] += count
        redeemed: dict[DiscountKind, dict[date, int]] = defaultdict(lambda: defaultdict(int))
        by_store: dict[str | None, dict[date, int]] = defaultdict(lambda: defaultdict(int))
        for (kind, store, day), count in counted.redeemed.items():
            redeemed[kind][day] += count
            by_store[store][day] += count
        converted: dict[DiscountKind, int] = defaultdict(int)
        promo_redeemed: dict[int, int] = defaultdict(int)
        for (kind, broadcast_id), count in counted.converted.items():
            converted[kind] += count
            if kind is DiscountKind.PROMO and broadcast_id is not None:
                promo_redeemed[broadcast_id] += count
        promo = {b: (n, promo_redeemed.get(b, 0)) for b, n in counted.promo_issued.items()}
        return cls(issued, redeemed, by_store, converted, promo)


async def _customers_from_days(
    session: AsyncSession, calendar: Calendar, new_per_day: Mapping[date, int]
) -> CustomerKpi:
    """Customer figures from customers created per day (every day, all time).

    Status has no history, so it is counted live; only the two small statuses
    are (a range of the (status, created_at) index), active is what remains.
    """
    window = calendar.window
    before = sum(count for day, count in new_per_day.items() if day < window.start)
    everyone = sum(new_per_day.values())
    by_status: dict[CustomerStatus, int] = defaultdict(int)
    others = [status for status in CustomerStatus if status is not CustomerStatus.ACTIVE]
    for status, count in await session.execute(
        select(Customer.status, func.count())
        .where(Customer.status.in_(others))
        .group_by(Customer.status)
    ):
        by_status[status] += int(count)
    by_status[CustomerStatus.ACTIVE] = everyone - sum(by_status.values())
    new = calendar.series(
        "new_customers",
        {day: count for day, count in new_per_day.items() if window.start <= day <= window.end},
    )
    return sections.customer_kpi_of(by_status, before, new)


async def _broadcasts_of(
    session: AsyncSession, promo: Mapping[int, tuple[int, int]]
) -> list[BroadcastConversion]:
    """Conversions from (issued, redeemed) per broadcast id; sent and titles read live.

    A broadcast that no longer exists drops out, as its discounts' broadcast_id
    (ON DELETE SET NULL) drops them out of the live count.
    """
    if not promo:
        return []
    rows = await session.execute(
        select(Broadcast.id, Broadcast.title, sent_count())
        .where(Broadcast.id.in_(sorted(promo)))
        .order_by(Broadcast.id.desc())
    )
    return [
        sections.conversion(broadcast_id, title, sent, *promo[broadcast_id])
        for broadcast_id, title, sent in rows
    ]


async def _cashiers_of(
    session: AsyncSession, counts: Mapping[tuple[int | None, str | None], int]
) -> list[CashierRedemptions]:
    """Entries from counts per (cashier id as it was, store), with today's names.

    A cashier deleted since counts as None, as ON DELETE SET NULL makes the live
    count do; their redemptions then join the store's other unknown ones.
    """
    ids = sorted({cashier_id for cashier_id, _ in counts if cashier_id is not None})
    names: dict[int, str] = {}
    if ids:
        rows = await session.execute(select(Cashier.id, Cashier.name).where(Cashier.id.in_(ids)))
        names = {cashier_id: name for cashier_id, name in rows}
    merged: dict[tuple[int | None, str | None], int] = defaultdict(int)
    for (cashier_id, store), count in counts.items():
        if count:
            merged[(cashier_id if cashier_id in names else None, store)] += count
    return sections.sorted_cashiers(
        CashierRedemptions(
            cashier_id=cashier_id,
            name=names.get(cashier_id) if cashier_id is not None else None,
            store=store,
            count=count,
        )
        for (cashier_id, store), count in merged.items()
    )
