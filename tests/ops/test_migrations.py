"""Migrations go up, down and up again, and agree with the models."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from backend.domain.database import create_sessionmaker
from backend.domain.models import Base, Discount, DiscountStatus
from tests.conftest import DATABASES
from tests.databases import drop_database, fresh_database, run_alembic
from tests.factories import make_customer, make_discount


def differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


@pytest.mark.parametrize("kind", DATABASES)
async def test_upgrade_downgrade_upgrade_matches_the_models(kind: str, tmp_path: Path) -> None:
    engine = await fresh_database(kind, tmp_path, f"dvorik_migrations_{os.getpid()}")
    try:
        await run_alembic(engine, "upgrade", "head")
        await run_alembic(engine, "downgrade", "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(table_names) == set()
        await run_alembic(engine, "upgrade", "head")
        async with engine.connect() as connection:
            assert await connection.run_sync(table_names) == set(Base.metadata.tables)
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()
        await drop_database(engine)


@pytest.mark.parametrize("kind", DATABASES)
async def test_an_active_code_from_before_0011_keeps_its_time_to_the_end_of_its_last_day(
    kind: str, tmp_path: Path
) -> None:
    vladivostok = ZoneInfo("Asia/Vladivostok")
    # Issued the old way: 09:30 on the 6th in Vladivostok (23:30 UTC on the 5th) + 14 days.
    old_expiry = datetime(2026, 12, 19, 23, 30, tzinfo=UTC)
    engine = await fresh_database(kind, tmp_path, f"dvorik_migrations_{os.getpid()}")
    try:
        await run_alembic(engine, "upgrade", "head")
        async with create_sessionmaker(engine)() as session, session.begin():
            customer = await make_customer(session)
            ids = {}
            for status in (DiscountStatus.ACTIVE, DiscountStatus.REDEEMED):
                discount = await make_discount(session, customer, status=status)
                discount.expires_at = old_expiry
                ids[status] = discount.id
        await run_alembic(engine, "downgrade", "0010")
        await run_alembic(engine, "upgrade", "head")

        async with create_sessionmaker(engine)() as session:
            active = await session.get_one(Discount, ids[DiscountStatus.ACTIVE])
            redeemed = await session.get_one(Discount, ids[DiscountStatus.REDEEMED])
        # Through the whole 20th in Vladivostok: 00:00 on the 21st there, 14:00 UTC on the 20th.
        assert active.expires_at == datetime(2026, 12, 21, tzinfo=vladivostok)
        assert active.expires_at >= old_expiry
        assert redeemed.expires_at == old_expiry
    finally:
        await engine.dispose()
        await drop_database(engine)
