"""KPIs of a few days of a shop's life, per business day in Vladivostok (UTC+10).

Customers, discounts per kind and their conversion, broadcasts' conversion,
redemptions per cashier and store: each figure and each day's value.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.kpi import BroadcastConversion, CashierRedemptions, Series
from backend.domain.models import DiscountKind
from tests.kpi_shop import (
    ALEUTSKAYA,
    END,
    START,
    SVETLANSKAYA,
    Shop,
    by_kind,
    daily,
    days,
    report,
    shop,
    values,
)

__all__ = ["shop"]


async def test_customers_per_business_day(session: AsyncSession, shop: Shop) -> None:
    result = await report(session)

    customers = result.customers
    assert result.buckets == list(days(START, END))
    assert (customers.total, customers.new) == (7, 5)
    assert (customers.active, customers.unsubscribed, customers.blocked) == (6, 1, 1)
    # 15:30 UTC on 27 Feb is already 28 Feb in Vladivostok.
    new = {date(2025, 2, 26): 1, date(2025, 2, 27): 1, date(2025, 2, 28): 1}
    new |= {date(2025, 3, 1): 1, date(2025, 3, 10): 1}
    assert customers.new_customers == Series("new_customers", daily(new), 5.0)
    totals = {day: 2.0 + sum(n for d, n in new.items() if d <= day) for day in days(START, END)}
    assert customers.total_customers == Series("total_customers", daily(totals), 7.0)


async def test_discounts_per_kind_per_business_day(session: AsyncSession, shop: Shop) -> None:
    result = await report(session)

    kinds = by_kind(result)
    sub, bday, manual, promo = (kinds[kind] for kind in DiscountKind)
    d = date
    assert (sub.issued, sub.redeemed, sub.converted, sub.conversion) == (2, 1, 1, 0.5)
    assert sub.issued_series == Series(
        "issued:subscription", daily({d(2025, 2, 26): 1, d(2025, 2, 28): 1}), 2.0
    )
    assert sub.redeemed_series == Series("redeemed:subscription", daily({d(2025, 2, 27): 1}), 1.0)

    assert (bday.issued, bday.redeemed, bday.converted, bday.conversion) == (2, 1, 1, 0.5)
    assert bday.issued_series.points == daily({d(2025, 2, 28): 1, d(2025, 3, 1): 1})
    assert bday.redeemed_series.points == daily({d(2025, 3, 2): 1})

    # The redeemed manual discount was issued before the window: no conversion.
    assert (manual.issued, manual.redeemed, manual.converted, manual.conversion) == (1, 1, 0, 0.0)
    assert manual.issued_series.points == daily({d(2025, 3, 5): 1})
    assert manual.redeemed_series.points == daily({d(2025, 2, 26): 1})

    # Issued in the window: four spring, one flash, one without a broadcast; three of
    # them redeemed (one after the window). Redeemed in the window: spring, old, flash.
    assert (promo.issued, promo.redeemed, promo.converted, promo.conversion) == (6, 3, 3, 0.5)
    assert promo.issued_series == Series(
        "issued:promo", daily({d(2025, 3, 3): 4, d(2025, 3, 6): 1, d(2025, 3, 11): 1}), 6.0
    )
    assert promo.redeemed_series.points == daily(
        {d(2025, 2, 27): 1, d(2025, 3, 4): 1, d(2025, 3, 12): 1}
    )

    overall = result.discounts.overall
    assert overall.kind is None
    assert (overall.issued, overall.redeemed, overall.converted) == (11, 6, 5)
    assert overall.conversion == pytest.approx(5 / 11)
    assert overall.issued_series.name == "issued:all"
    assert overall.redeemed_series.name == "redeemed:all"
    assert values(overall.issued_series) == [
        sum(values(kind.issued_series)[i] for kind in kinds.values()) for i in range(15)
    ]
    assert overall.redeemed_series.points == daily(
        {d(2025, 2, 26): 1, d(2025, 2, 27): 2, d(2025, 3, 2): 1, d(2025, 3, 4): 1}
        | {d(2025, 3, 12): 1}
    )


async def test_broadcast_conversion(session: AsyncSession, shop: Shop) -> None:
    result = await report(session)

    # Newest first; the old broadcast issued nothing in the window.
    assert result.broadcasts == [
        BroadcastConversion(
            broadcast_id=shop.flash.id,
            title="Срочная акция",
            sent=0,
            issued=1,
            redeemed=1,
            conversion=1.0,
            sent_conversion=0.0,
        ),
        BroadcastConversion(
            broadcast_id=shop.spring.id,
            title="Весенняя распродажа",
            sent=3,
            issued=4,
            redeemed=2,
            conversion=0.5,
            sent_conversion=2 / 3,
        ),
    ]


async def test_redemptions_per_cashier_and_store(session: AsyncSession, shop: Shop) -> None:
    result = await report(session)

    redemptions = result.redemptions
    assert redemptions.by_cashier == [
        CashierRedemptions(shop.olga.id, "Ольга", SVETLANSKAYA, 4),
        CashierRedemptions(shop.ivan.id, "Иван", ALEUTSKAYA, 2),
    ]
    assert [(entry.store, entry.count) for entry in redemptions.by_store] == [
        (SVETLANSKAYA, 4),
        (ALEUTSKAYA, 2),
    ]
    svetlanskaya, aleutskaya = (entry.series for entry in redemptions.by_store)
    assert svetlanskaya == Series(
        SVETLANSKAYA,
        daily({date(2025, 2, 26): 1, date(2025, 2, 27): 2, date(2025, 3, 12): 1}),
        4.0,
    )
    assert aleutskaya == Series(ALEUTSKAYA, daily({date(2025, 3, 2): 1, date(2025, 3, 4): 1}), 2.0)
