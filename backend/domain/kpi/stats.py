"""The discounts stats card: discounts issued in a period by status and kind, and redemptions.

Two grouped statements over the period's rows; a card, not a chart, so no
series and no rollup.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.kpi import period
from backend.domain.models import Discount, DiscountKind, DiscountStatus

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class StatusCount:
    status: DiscountStatus
    count: int


@dataclass(frozen=True)
class KindCount:
    kind: DiscountKind
    count: int


@dataclass(frozen=True)
class DiscountStats:
    """A stats card: discounts issued in the window, and redemptions in the window."""

    start: date
    end: date
    zone: str
    issued: int  # issued_at within the window
    by_status: list[StatusCount]  # of those issued in the window; every status, enum order
    by_kind: list[KindCount]  # of those issued in the window; every kind, enum order
    average_percent: float | None  # of those issued in the window; None when none
    redeemed: int  # redeemed_at within the window
    purchase_total: Decimal  # sum of purchase_amount of those redemptions, 2 decimals


def _money(value: object) -> Decimal:
    """A SUM of amounts: Decimal from MySQL/MariaDB, possibly a float from SQLite."""
    if value is None:
        return Decimal("0.00")
    if isinstance(value, Decimal):
        return value.quantize(_CENT)
    return Decimal(str(value)).quantize(_CENT)


async def discount_stats(
    session: AsyncSession, *, start: date, end: date, zone: ZoneInfo
) -> DiscountStats:
    """Discounts issued in start..end by status and kind, and the period's redemptions."""
    window = period.window(session, start, end, zone)
    by_status: dict[DiscountStatus, int] = defaultdict(int)
    by_kind: dict[DiscountKind, int] = defaultdict(int)
    percent_sum = 0
    for kind, status, count, percents in await session.execute(
        select(Discount.kind, Discount.status, func.count(), func.sum(Discount.percent))
        .where(Discount.kind.in_(list(DiscountKind)), window.contains(Discount.issued_at))
        .group_by(Discount.kind, Discount.status)
    ):
        by_status[status] += int(count)
        by_kind[kind] += int(count)
        percent_sum += int(percents or 0)
    issued = sum(by_kind.values())

    row = (
        await session.execute(
            select(func.count(), func.sum(Discount.purchase_amount)).where(
                window.contains(Discount.redeemed_at)
            )
        )
    ).one()
    redeemed, purchases = row
    return DiscountStats(
        start=start,
        end=end,
        zone=zone.key,
        issued=issued,
        by_status=[StatusCount(status, by_status[status]) for status in DiscountStatus],
        by_kind=[KindCount(kind, by_kind[kind]) for kind in DiscountKind],
        average_percent=percent_sum / issued if issued else None,
        redeemed=int(redeemed),
        purchase_total=_money(purchases),
    )
