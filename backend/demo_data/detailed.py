"""`generate`: the believable shop, planned whole in memory and written in one transaction."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.demo_data.existing import empty_shop
from backend.demo_data.plan import DemoSummary
from backend.demo_data.planner import Planner
from backend.demo_data.shop import DEFAULT_NOW, DEFAULT_SEED
from backend.demo_data.writing import Progress, write
from backend.domain.kpi import rollup as kpi_rollup


async def generate(
    sessions: async_sessionmaker[AsyncSession],
    *,
    customers: int = 5000,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> DemoSummary:
    """Fill an empty database with demo data; raises Conflict if customers exist.

    Everything derives from `seed` and `now` (an aware datetime, default
    `DEFAULT_NOW`), so the same arguments on an empty database give the same
    rows. All rows go in one transaction: an error leaves the database as it was.
    """
    moment = checked_now(customers, now)
    async with sessions() as session, session.begin():
        existing, settings = await empty_shop(session)
        plan = Planner(random.Random(seed), moment, settings, existing).build(customers)
        for stage, parts in plan.stages():
            await write(session, stage, parts, progress)
        await kpi_rollup.forget(session)  # backdated rows: no stored day may stand (defensive)
    return plan.summary()


def checked_now(customers: int, now: datetime | None) -> datetime:
    """The arguments both generators take, checked; the data's 'now' in UTC."""
    if customers < 0:
        raise ValueError("customers cannot be negative")
    moment = DEFAULT_NOW if now is None else now
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    return moment.astimezone(UTC)
