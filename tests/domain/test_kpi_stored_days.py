"""A KPI report from stored (rolled-up) days: the same figures, a handful of statements.

The closed days stored, a report takes the same dozen statements for any
period and equals the report counted from the rows alone.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.domain.kpi import Granularity, kpi_live
from backend.domain.kpi import rollup as kpi_rollup
from tests.kpi_shop import END, NOW, START, VVO, Shop, report, shop
from tests.statements import selects

__all__ = ["shop"]


async def test_report_takes_a_handful_of_statements_whatever_the_period(
    engine: AsyncEngine, session: AsyncSession, shop: Shop
) -> None:
    """With the closed days stored, a report is the same dozen statements for any period.

    Three to find the stored days, four to read them (issues, redemptions by
    day and by cashier, conversions), four counting today live (customers,
    issues, redemptions, conversions), customer statuses, broadcasts, cashiers.
    """
    long, short = (date(2023, 4, 1), date(2025, 3, 31)), (date(2025, 2, 1), date(2025, 3, 20))
    await kpi_rollup.remember(session, zone=VVO, start=long[0], now=NOW)
    await session.commit()
    counts = []
    for start, end in (long, short):
        with selects(engine) as statements:
            await report(session, Granularity.MONTH, start, end)
        counts.append(len(statements))
    assert counts == [14, 14]

    # The reference counts the rows themselves: six grouped statements.
    with selects(engine) as statements:
        await kpi_live(
            session, start=long[0], end=long[1], granularity=Granularity.MONTH, zone=VVO, now=NOW
        )
    assert len(statements) == 6


async def test_the_report_is_the_same_with_and_without_stored_days(
    session: AsyncSession, shop: Shop
) -> None:
    counted = await report(session)
    await kpi_rollup.remember(session, zone=VVO, start=START, now=NOW)
    await session.commit()

    assert await report(session) == counted
    live = await kpi_live(
        session, start=START, end=END, granularity=Granularity.DAY, zone=VVO, now=NOW
    )
    assert live == counted
