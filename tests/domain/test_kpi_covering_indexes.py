"""Each statement the KPI report counts discounts with is answered by one index alone.

Issue 19: today's conversions (by issue day and broadcast) read columns the
redemptions index lacked, so at a million customers MariaDB fetched every row
redeemed in the window: 331 ms of a 480 ms report. Here every discounts
statement of a day's counting is checked against the table's indexes: the
columns it names must all be in one index that starts with the column its
range is on. A new column in a report's statement, without the index, fails
this test by name, on any database, before a big shop meets it.
"""

from __future__ import annotations

import re
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.domain.kpi.counting import DayCounts, counter
from backend.domain.models import Discount
from tests.statements import statements_on

ZONE = ZoneInfo("Asia/Vladivostok")


def _indexes() -> list[list[str]]:
    table = Discount.metadata.tables["discounts"]
    return [[column.name for column in index.columns] for index in table.indexes]


def _columns(statement: str) -> set[str]:
    return set(re.findall(r"discounts\.(\w+)", statement))


def _led_by(index: list[str], column: str) -> bool:
    """The range's column first, or second after `kind` (listed with IN, as issues are)."""
    return index[:1] == [column] or index[:2] == ["kind", column]


def _range_column(statement: str) -> str:
    found = re.search(r"discounts\.(\w+) >=", statement)
    assert found, statement
    return found.group(1)


async def test_every_discounts_count_of_the_kpi_is_answered_from_an_index(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    count = counter(session, ZONE, date(2026, 11, 1), date(2026, 11, 30))
    assert count is not None
    with statements_on(engine, lambda statement: "FROM discounts" in statement) as seen:
        await count.discount_days(session, DayCounts(), date(2026, 11, 1), date(2026, 11, 30))
    assert len(seen) == 3  # issues, redemptions, conversions
    for statement in seen:
        needed, leading = _columns(statement), _range_column(statement)
        covering = [
            index for index in _indexes() if needed <= set(index) and _led_by(index, leading)
        ]
        assert covering, f"no index holds {sorted(needed)} led by {leading}: {statement}"
