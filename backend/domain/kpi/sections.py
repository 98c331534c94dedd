"""The report's sections built from counts, whichever way they were counted.

`report.kpi` adds its counts up from the rollup and `live.kpi_live` from the
rows; both hand them here, so the two reports are shaped (named series, zeros,
ratios, order) by one piece of code and can be compared figure by figure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date

from backend.domain.kpi.figures import (
    BroadcastConversion,
    CashierRedemptions,
    CustomerKpi,
    DiscountKindKpi,
    DiscountKpi,
    Point,
    Series,
    StoreRedemptions,
)
from backend.domain.kpi.period import Calendar
from backend.domain.models import CustomerStatus, DiscountKind

# The series name of redemptions whose store is unknown (Discount.store is NULL).
NO_STORE = "(no store)"


def ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _running_total(name: str, base: int, counts: Series) -> Series:
    level = float(base)
    points = []
    for point in counts.points:
        level += point.value
        points.append(Point(point.bucket, level))
    return Series(name, points, level)


def customer_kpi_of(
    by_status: Mapping[CustomerStatus, int], before: int, new: Series
) -> CustomerKpi:
    """The customer figures from the status counts, the count before the window and new ones."""
    total = _running_total("total_customers", before, new)
    return CustomerKpi(
        total=int(total.total),
        new=int(new.total),
        active=by_status[CustomerStatus.ACTIVE],
        unsubscribed=by_status[CustomerStatus.UNSUBSCRIBED],
        blocked=by_status[CustomerStatus.BLOCKED],
        new_customers=new,
        total_customers=total,
    )


def discount_kpi_of(
    calendar: Calendar,
    issued: Mapping[DiscountKind, Mapping[date, int]],
    redeemed: Mapping[DiscountKind, Mapping[date, int]],
    converted: Mapping[DiscountKind, int],
) -> DiscountKpi:
    """Every kind's figures, in the enum's order, and all kinds together."""
    empty: dict[date, int] = {}
    by_kind = [
        _kind_kpi(
            calendar,
            kind,
            kind.value,
            issued.get(kind, empty),
            redeemed.get(kind, empty),
            converted.get(kind, 0),
        )
        for kind in DiscountKind
    ]
    overall = _kind_kpi(
        calendar,
        None,
        "all",
        _add_up(issued.values()),
        _add_up(redeemed.values()),
        sum(converted.values()),
    )
    return DiscountKpi(overall=overall, by_kind=by_kind)


def _add_up(dailies: Iterable[Mapping[date, int]]) -> dict[date, int]:
    total: dict[date, int] = defaultdict(int)
    for daily in dailies:
        for day, count in daily.items():
            total[day] += count
    return total


def _kind_kpi(
    calendar: Calendar,
    kind: DiscountKind | None,
    label: str,
    issued_daily: Mapping[date, int],
    redeemed_daily: Mapping[date, int],
    converted: int,
) -> DiscountKindKpi:
    issued = calendar.series(f"issued:{label}", issued_daily)
    redeemed = calendar.series(f"redeemed:{label}", redeemed_daily)
    return DiscountKindKpi(
        kind=kind,
        issued=int(issued.total),
        redeemed=int(redeemed.total),
        converted=converted,
        conversion=ratio(converted, int(issued.total)),
        issued_series=issued,
        redeemed_series=redeemed,
    )


def conversion(
    broadcast_id: int, title: str, sent: int | None, issued: int, redeemed: int | None
) -> BroadcastConversion:
    sent_total, issued_total, redeemed_total = int(sent or 0), int(issued), int(redeemed or 0)
    return BroadcastConversion(
        broadcast_id=broadcast_id,
        title=title,
        sent=sent_total,
        issued=issued_total,
        redeemed=redeemed_total,
        conversion=ratio(redeemed_total, issued_total),
        sent_conversion=ratio(redeemed_total, sent_total),
    )


def sorted_cashiers(entries: Iterable[CashierRedemptions]) -> list[CashierRedemptions]:
    """Most redemptions first; ties by name (deleted cashiers last), id, store."""
    return sorted(
        entries,
        key=lambda entry: (
            -entry.count,
            entry.name is None,
            entry.name or "",
            entry.cashier_id or 0,
            entry.store or "",
        ),
    )


def store_redemptions(
    calendar: Calendar, daily_by_store: Mapping[str | None, Mapping[date, int]]
) -> list[StoreRedemptions]:
    """A series per store, most redemptions first (the unknown store last among ties)."""
    entries = []
    for store, daily in daily_by_store.items():
        series = calendar.series(store if store is not None else NO_STORE, daily)
        entries.append(StoreRedemptions(store=store, count=int(series.total), series=series))
    return sorted(entries, key=lambda entry: (-entry.count, entry.store is None, entry.store or ""))
