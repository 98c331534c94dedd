"""The databases tests run against: a temporary SQLite file and a MariaDB schema.

MariaDB is found at TEST_MARIADB_URL (default: root on 127.0.0.1:3306). When it
cannot be reached, its tests skip on a developer's machine and fail when
CI=true, so CI can never go green without having run them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from alembic import command
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from backend.domain.database import create_engine
from backend.migrations import alembic_config

MARIADB_SERVER_URL = os.environ.get("TEST_MARIADB_URL", "mysql+asyncmy://root@127.0.0.1:3306")
MARIADB_SCHEMA = os.environ.get("TEST_MARIADB_SCHEMA", "dvorik_test")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(what: str, error: BaseException) -> None:
    message = f"{what} is not reachable: {type(error).__name__}: {error}"
    if in_ci():
        pytest.fail(message + " (CI=true: services must be up)", pytrace=False)
    pytest.skip(message)


async def run_alembic(engine: AsyncEngine, action: str, revision: str) -> None:
    """Run an Alembic command on `engine` from inside the running event loop."""
    config = alembic_config(str(engine.url))

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def create_mariadb_schema(name: str) -> str:
    """Create an empty schema `name` and return its URL."""
    server = create_async_engine(f"{MARIADB_SERVER_URL}/test")
    try:
        async with server.connect() as connection:
            await connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
            await connection.execute(
                text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            )
    finally:
        await server.dispose()
    return f"{MARIADB_SERVER_URL}/{name}"


async def fresh_database(kind: str, tmp_dir: Path, name: str) -> AsyncEngine:
    """An engine on an empty database of `kind` ('sqlite' or 'mariadb')."""
    if kind == "sqlite":
        return create_engine(f"sqlite+aiosqlite:///{tmp_dir / (name + '.db')}")
    try:
        url = await create_mariadb_schema(name)
    except Exception as error:
        unavailable("MariaDB", error)
        raise
    return create_engine(url, pool_size=60)


@asynccontextmanager
async def migrated_mariadb(name: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh, migrated MariaDB schema `name`, dropped afterwards.

    For tests that run on MariaDB only (processes, faults, load): skipped
    without MariaDB on a developer's machine, failed under CI=true.
    """
    try:
        url = await create_mariadb_schema(name)
    except Exception as error:
        unavailable("MariaDB", error)
        raise
    engine = create_engine(url)
    try:
        await run_alembic(engine, "upgrade", "head")
        yield engine
    finally:
        await engine.dispose()
        await drop_mariadb_schema(name)


async def drop_database(engine: AsyncEngine) -> None:
    """Remove a MariaDB schema made by `fresh_database` (SQLite files go with tmp_path)."""
    if engine.dialect.name == "mysql" and engine.url.database:
        await drop_mariadb_schema(engine.url.database)


async def drop_mariadb_schema(name: str) -> None:
    server = create_async_engine(f"{MARIADB_SERVER_URL}/test")
    try:
        async with server.connect() as connection:
            await connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    finally:
        await server.dispose()


async def require_redis(url: str) -> None:
    """Skip (on a developer's machine) or fail (CI=true) unless Redis answers at `url`."""
    client = Redis.from_url(url)
    try:
        await client.ping()
    except Exception as error:
        unavailable("Redis", error)
    finally:
        await client.aclose()
