"""Fixtures: every database test runs once on SQLite and once on MariaDB."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain.database import create_sessionmaker
from backend.domain.models import Base
from tests.databases import drop_database, fresh_database, in_ci, run_alembic

# CI explores the same examples every run, so a red build is reproducible.
settings.register_profile("ci", derandomize=True, print_blob=True)
if in_ci():
    settings.load_profile("ci")

DATABASES = ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]


@pytest.fixture(scope="session", params=DATABASES)
async def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AsyncEngine]:
    """A migrated database, shared by the tests of one backend."""
    kind = request.param
    tmp_dir: Path = tmp_path_factory.mktemp(kind)
    engine = await fresh_database(kind, tmp_dir, f"dvorik_test_{os.getpid()}")
    await run_alembic(engine, "upgrade", "head")
    yield engine
    await engine.dispose()
    await drop_database(engine)


@pytest.fixture
async def sessions(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Session factory on a database emptied after the test."""
    yield create_sessionmaker(engine)
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(delete(table))


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One session for arranging and checking; the test commits what it needs."""
    async with sessions() as session:
        yield session
