"""Volume data for the benchmarks (`dvorik demo-data --customers 1000000`).

Three discounts per customer in every state, 200 broadcasts over two years,
written chunk by chunk with the load's indexes and key checks restored after.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend import demo_data
from backend.demo_data import volume
from backend.domain import codes
from backend.domain.errors import Conflict
from backend.domain.models import (
    Broadcast,
    BroadcastDelivery,
    Customer,
    CustomerStatus,
    Discount,
    DiscountKind,
    DiscountStatus,
)
from tests.demo_data_checks import NOW, RecordingProgress, load_all, row_counts


def index_names(connection: Any, table: str) -> set[str]:
    inspector = inspect(connection)
    names = {index["name"] for index in inspector.get_indexes(table)}
    names |= {unique["name"] for unique in inspector.get_unique_constraints(table)}
    return {name for name in names if name}


async def test_volume_data_has_the_benchmark_shape_in_chunks(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three discounts per customer in every state, 200 broadcasts, two years, chunk by chunk."""
    monkeypatch.setattr(volume, "VOLUME_CHUNK", 70)  # several chunks even for a small shop
    async with engine.connect() as connection:
        indexes_before = {
            table: await connection.run_sync(index_names, table)
            for table in ("customers", "discounts")
        }
    progress = RecordingProgress()

    summary = await demo_data.generate_volume(sessions, customers=400, progress=progress)

    assert [stage for stage, _ in progress.stages][:2] == ["setup", "customers"]
    assert progress.advanced["customers"] == 400
    assert (summary.customers, summary.discounts, summary.broadcasts) == (400, 1200, 200)
    customers = await load_all(sessions, Customer)
    discounts = await load_all(sessions, Discount)
    broadcasts = {row.id: row for row in await load_all(sessions, Broadcast)}
    deliveries = await load_all(sessions, BroadcastDelivery)
    assert len(customers) == 400 and len(discounts) == 1200 and len(broadcasts) == 200
    assert len(deliveries) == summary.deliveries > 200
    assert Counter(row.customer_id for row in discounts) == dict.fromkeys(
        (row.id for row in customers), 3
    )
    assert {row.status for row in discounts} == set(DiscountStatus)
    assert {row.kind for row in discounts} == set(DiscountKind)
    assert {row.status for row in customers} == set(CustomerStatus)
    assert len({row.code for row in discounts}) == 1200
    assert all(codes.normalize_code(row.code) == row.code for row in discounts)
    assert len({row.telegram_id for row in customers}) == 400
    # Spread over two years, as the benchmarks' windows expect.
    created = sorted(row.created_at for row in customers)
    assert created[-1] <= NOW and NOW - created[0] > timedelta(days=365)
    assert NOW - min(row.started_at for row in broadcasts.values()) > timedelta(days=700)
    # Dates stay consistent: what happened to a discount happened by `now`, in its lifetime.
    for row in discounts:
        assert row.issued_at <= NOW and row.issued_at < row.expires_at
        if row.status is DiscountStatus.REDEEMED:
            assert row.redeemed_at is not None and row.issued_at <= row.redeemed_at <= NOW
            assert row.cashier_id is not None and row.purchase_amount is not None
        if row.status is DiscountStatus.ACTIVE:
            assert row.expires_at > NOW
        if row.status is DiscountStatus.EXPIRED:
            assert row.expires_at <= NOW
        if row.kind is DiscountKind.PROMO:
            assert row.broadcast_id in broadcasts
    # A delivery went out while its customer was subscribed.
    people = {row.id: row for row in customers}
    for delivery in deliveries:
        person, broadcast = people[delivery.customer_id], broadcasts[delivery.broadcast_id]
        assert person.subscribed_at is not None
        assert person.subscribed_at <= broadcast.started_at
    # Indexes dropped for the load (MariaDB) are all back.
    async with engine.connect() as connection:
        for table, names in indexes_before.items():
            assert await connection.run_sync(index_names, table) == names


async def test_volume_data_goes_only_into_an_empty_database(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await demo_data.generate_volume(sessions, customers=30)

    with pytest.raises(Conflict):
        await demo_data.generate_volume(sessions, customers=30)
    assert (await row_counts(sessions))["customers"] == 30


async def test_volume_data_leaves_every_pooled_connection_checking_foreign_keys(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The load turns per-row key checks off on its connections; they go back to the pool.

    The pool hands its connections out in turn (FIFO), so ten checkouts see them all.
    """
    await demo_data.generate_volume(sessions, customers=30)
    checks = []
    for _ in range(10):
        async with sessions() as session:
            query = {
                "sqlite": "PRAGMA foreign_keys",
                # PostgreSQL's key checks are triggers, on unless replication says otherwise.
                "postgresql": "SELECT CAST(current_setting('session_replication_role') = "
                "'origin' AS INTEGER)",
            }.get(session.get_bind().dialect.name, "SELECT @@SESSION.foreign_key_checks")
            checks.append(await session.scalar(text(query)))
    assert checks == [1] * 10
