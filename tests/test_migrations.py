"""Migrations go up, down and up again, and agree with the models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from backend.domain.models import Base
from tests.conftest import DATABASES
from tests.databases import drop_database, fresh_database, run_alembic


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
