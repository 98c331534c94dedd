"""A demo data run: determinism, refusal, rows that were there before, progress.

The same seed gives the same shop; a database with customers is refused and
left alone; cashiers, tags and segments set up before are kept and reused;
progress is reported per stage and adds up.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from backend import demo_data
from backend.demo_data.planner import customers as customer_draws
from backend.domain.errors import Conflict
from backend.domain.models import Base, BroadcastDelivery, Cashier, Customer, Discount, Segment, Tag
from tests.demo_data_checks import RecordingProgress, empty_database, load_all, row_counts
from tests.factories import make_cashier

# What a seed decides: these columns of every row, table by table.
SEEDED: list[tuple[str, Any, str]] = [
    (
        "customers",
        Customer,
        "id telegram_id first_name last_name username birthday status created_at last_seen_at",
    ),
    (
        "discounts",
        Discount,
        "id customer_id code kind status issued_at redeemed_at purchase_amount",
    ),
    ("deliveries", BroadcastDelivery, "broadcast_id customer_id status sent_at"),
    ("segments", Segment, "name rules"),
]


async def fingerprint(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[Any]]:
    """The SEEDED columns of every row, in id order, by table."""
    found = {}
    async with sessions() as session:
        for table, model, columns in SEEDED:
            query = select(*(getattr(model, name) for name in columns.split()))
            found[table] = [tuple(row) for row in await session.execute(query.order_by(model.id))]
    return found


async def test_the_same_seed_gives_the_same_shop(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await demo_data.generate(sessions, customers=150, seed=7)
    first = await fingerprint(sessions)
    await empty_database(engine)

    await demo_data.generate(sessions, customers=150, seed=7)
    second = await fingerprint(sessions)
    await empty_database(engine)

    await demo_data.generate(sessions, customers=150, seed=8)
    other = await fingerprint(sessions)

    assert len(first["customers"]) == 150
    assert first == second
    assert other["customers"] != first["customers"]
    assert other["discounts"] != first["discounts"]


async def test_a_database_with_customers_is_refused_and_left_alone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        assert not await demo_data.has_data(session)
    await demo_data.generate(sessions, customers=40)
    before = await row_counts(sessions)
    async with sessions() as session:
        assert await demo_data.has_data(session)

    with pytest.raises(Conflict, match="already has customers"):
        await demo_data.generate(sessions, customers=40, seed=99)

    assert await row_counts(sessions) == before
    assert before["customers"] == 40


async def test_bad_arguments_are_refused_before_touching_the_database(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with pytest.raises(ValueError, match="aware"):
        await demo_data.generate(sessions, customers=10, now=datetime(2026, 11, 20, 12, 0))
    with pytest.raises(ValueError, match="negative"):
        await demo_data.generate(sessions, customers=-1)
    assert set((await row_counts(sessions)).values()) == {0}


async def test_rows_that_predate_the_demo_are_kept_and_reused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """An owner may have set up cashiers, tags and segments before any customer came."""
    async with sessions() as session, session.begin():
        cashier = await make_cashier(session, name="Ирина", store="Светланская, 33")
        session.add(Tag(name="vip"))
        session.add(Segment(name="VIP", rules={"tags_any": ["vip"]}))

    summary = await demo_data.generate(sessions, customers=60)

    tags: list[Tag] = await load_all(sessions, Tag)
    assert sorted(tag.name for tag in tags) == sorted(demo_data.TAGS)
    assert summary.tags == len(demo_data.TAGS) - 1
    segment_names = [segment.name for segment in await load_all(sessions, Segment)]
    assert segment_names[0] == "VIP"
    assert "VIP (демо)" in segment_names
    cashiers: list[Cashier] = await load_all(sessions, Cashier)
    assert cashiers[0].id == cashier.id and cashiers[0].name == "Ирина"
    assert len(cashiers) == 1 + summary.cashiers


async def test_progress_is_reported_per_stage_and_adds_up(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    progress = RecordingProgress()

    summary = await demo_data.generate(sessions, customers=120, progress=progress)

    totals = dict(progress.stages)
    assert [stage for stage, _ in progress.stages] == [
        "customers",
        "tags",
        "cashiers",
        "segments",
        "broadcasts",
        "deliveries",
        "discounts",
    ]
    assert progress.advanced == totals
    assert totals["customers"] == summary.customers == 120
    assert totals["discounts"] == summary.discounts
    assert totals["deliveries"] == summary.deliveries
    assert totals["broadcasts"] == summary.broadcasts
    assert totals["segments"] == summary.segments
    assert totals["cashiers"] == summary.cashiers
    async with sessions() as session:
        links = await session.scalar(
            select(func.count()).select_from(Base.metadata.tables["customer_tags"])
        )
    assert totals["tags"] == summary.tags + (links or 0)


async def test_customers_arriving_in_the_same_second_get_ids_in_arrival_order(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crowded shop: many registrations share a second, which must not upset the order."""
    monkeypatch.setattr(customer_draws, "HISTORY", timedelta(minutes=15))

    await demo_data.generate(sessions, customers=400)

    async with sessions() as session:
        query = select(Customer).options(selectinload(Customer.tags)).order_by(Customer.id)
        customers: list[Customer] = list(await session.scalars(query))
    arrivals = [customer.created_at for customer in customers]
    assert len(set(arrivals)) < len(arrivals)
    assert arrivals == sorted(arrivals)
