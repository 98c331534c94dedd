"""Discount statistics of a period: issued, by status and kind, percent, purchase total."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.kpi import KindCount, StatusCount, discount_stats
from backend.domain.models import DiscountKind, DiscountStatus
from tests.kpi_shop import END, START, VVO, Shop, shop

__all__ = ["shop"]


async def test_discount_stats(session: AsyncSession, shop: Shop) -> None:
    stats = await discount_stats(session, start=START, end=END, zone=VVO)

    assert stats.issued == 11
    assert stats.by_status == [
        StatusCount(DiscountStatus.ACTIVE, 4),
        StatusCount(DiscountStatus.REDEEMED, 5),
        StatusCount(DiscountStatus.EXPIRED, 1),
        StatusCount(DiscountStatus.CANCELLED, 1),
    ]
    assert stats.by_kind == [
        KindCount(DiscountKind.SUBSCRIPTION, 2),
        KindCount(DiscountKind.BIRTHDAY, 2),
        KindCount(DiscountKind.MANUAL, 1),
        KindCount(DiscountKind.PROMO, 6),
    ]
    # 10+10 + 15+15 + 20 + 6×5 over 11 discounts.
    assert stats.average_percent == pytest.approx(100 / 11)
    assert stats.redeemed == 6
    # 1000.00 + 500.50 + 200.00 + 300.00 + 150.25 (+ one redemption without an amount).
    assert stats.purchase_total == Decimal("2150.75")
    assert (stats.start, stats.end, stats.zone) == (START, END, "Asia/Vladivostok")


async def test_discount_stats_of_an_empty_period(session: AsyncSession, shop: Shop) -> None:
    stats = await discount_stats(session, start=date(2024, 1, 1), end=date(2024, 1, 31), zone=VVO)

    assert (stats.issued, stats.redeemed, stats.average_percent) == (0, 0, None)
    assert stats.purchase_total == Decimal("0.00")
    assert {entry.count for entry in stats.by_status} == {0}
    assert {entry.count for entry in stats.by_kind} == {0}
