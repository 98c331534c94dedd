"""The databases tests run against: a temporary SQLite file, a MariaDB schema and a
PostgreSQL database.

MariaDB is found at TEST_MARIADB_URL (default: root on 127.0.0.1:3306), PostgreSQL
at TEST_POSTGRESQL_URL (default: postgres on 127.0.0.1:5432). When one cannot be
reached, its tests skip on a developer's machine and fail when CI=true, so CI can
never go green without having run them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from alembic import command
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from backend.domain.database import create_engine
from backend.migrations import alembic_config

MARIADB_SERVER_URL = os.environ.get("TEST_MARIADB_URL", "mysql+asyncmy://root@127.0.0.1:3306")
POSTGRESQL_SERVER_URL = os.environ.get(
    "TEST_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432"
)
# The database servers a test can ask for by name, as the `engine` fixture's params say.
SERVERS = {"mariadb": "MariaDB", "postgresql": "PostgreSQL"}
# Databases 10-15 for the first (or only) test process; under pytest-xdist each
# further worker takes the six below (`redis_url`). MariaDB schemas need no such
# care: every test names its own after the process id.
REDIS_DATABASES_PER_WORKER = 6


def redis_url(variable: str, database: int) -> str:
    """The Redis URL a test file uses: `variable` if set, else `database` on 127.0.0.1.

    `make test` runs the suite in two pytest-xdist workers at once; files that
    share a database number must not meet on fixed keys (queues, limits), so
    worker gwN uses the number 6N lower. Redis has 16 databases: two workers fit.
    """
    url = urlsplit(os.environ.get(variable, f"redis://127.0.0.1:6379/{database}"))
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    number = int(url.path.strip("/") or 0) - REDIS_DATABASES_PER_WORKER * worker
    if number < 0:
        raise RuntimeError(f"{variable}: no Redis database left for xdist worker gw{worker}")
    return urlunsplit(url._replace(path=f"/{number}"))


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


# Two test processes each keep a shop on the server at once (the API's pool, the
# test's engine, workers): 142 at once measured with two (`-m postgresql -n 2`) on
# PostgreSQL, and MariaDB's default of 151 was exceeded (error 1040) by two processes
# running the GraphQL and bot tests.
SERVER_CONNECTIONS_NEEDED = 200


async def create_mariadb_schema(name: str) -> str:
    """Create an empty schema `name` and return its URL.

    A server allowing too few connections fails here, with how to fix it,
    rather than as error 1040 (too many connections) in whichever test comes next.
    """
    server = create_async_engine(f"{MARIADB_SERVER_URL}/test")
    try:
        async with server.connect() as connection:
            allowed = int(await connection.scalar(text("SELECT @@max_connections")) or 0)
            if allowed < SERVER_CONNECTIONS_NEEDED:
                raise RuntimeError(
                    f"MariaDB's max_connections is {allowed}, the suite needs "
                    f"{SERVER_CONNECTIONS_NEEDED}: SET GLOBAL max_connections = 300 (.ci/run does)"
                )
            await connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
            await connection.execute(
                text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            )
    finally:
        await server.dispose()
    return f"{MARIADB_SERVER_URL}/{name}"


async def create_postgresql_database(name: str) -> str:
    """Create an empty PostgreSQL database `name` and return its URL.

    A server allowing too few connections fails here, with how to fix it,
    rather than as "too many clients" in whichever test comes second.
    """
    await drop_postgresql_database(name)
    server = _postgresql_server()
    try:
        async with server.connect() as connection:
            allowed = int(await connection.scalar(text("SHOW max_connections")) or 0)
            if allowed < SERVER_CONNECTIONS_NEEDED:
                raise RuntimeError(
                    f"max_connections is {allowed}, the suite needs "
                    f"{SERVER_CONNECTIONS_NEEDED}: ALTER SYSTEM SET max_connections = 300 "
                    "and restart PostgreSQL (.ci/run does)"
                )
            await connection.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8'"))
    finally:
        await server.dispose()
    return f"{POSTGRESQL_SERVER_URL}/{name}"


async def drop_postgresql_database(name: str) -> None:
    """Drop database `name`, ending connections a killed test may have left on it."""
    server = _postgresql_server()
    try:
        async with server.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await server.dispose()


def _postgresql_server() -> AsyncEngine:
    """The server's maintenance database, in autocommit (CREATE/DROP DATABASE need it)."""
    return create_async_engine(
        f"{POSTGRESQL_SERVER_URL}/postgres", isolation_level="AUTOCOMMIT", poolclass=NullPool
    )


async def create_server_database(kind: str, name: str) -> str:
    """An empty database `name` on the server `kind` ('mariadb', 'postgresql'): its URL.

    Skips (or fails under CI=true) when the server cannot be reached.
    """
    create = create_mariadb_schema if kind == "mariadb" else create_postgresql_database
    try:
        return await create(name)
    except Exception as error:
        unavailable(SERVERS[kind], error)
        raise


async def drop_server_database(kind: str, name: str) -> None:
    if kind == "mariadb":
        await drop_mariadb_schema(name)
    else:
        await drop_postgresql_database(name)


async def fresh_database(kind: str, tmp_dir: Path, name: str) -> AsyncEngine:
    """An engine on an empty database of `kind` ('sqlite', 'mariadb' or 'postgresql')."""
    if kind == "sqlite":
        return create_engine(f"sqlite+aiosqlite:///{tmp_dir / (name + '.db')}")
    return create_engine(await create_server_database(kind, name), pool_size=60)


async def migrated_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, prefix: str
) -> AsyncIterator[AsyncEngine]:
    """The body of an `engine` fixture parametrized by kind: a migrated database named
    `prefix` and the process id, dropped afterwards (SQLite's file goes with tmp_path)."""
    kind = request.param
    tmp_dir: Path = tmp_path_factory.mktemp(kind)
    engine = await fresh_database(kind, tmp_dir, f"{prefix}_{os.getpid()}")
    await run_alembic(engine, "upgrade", "head")
    yield engine
    await engine.dispose()
    await drop_database(engine)


@asynccontextmanager
async def migrated_database(kind: str, name: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh, migrated database `name` on server `kind`, dropped afterwards.

    For tests that run on the database servers only (processes, faults, load):
    skipped without the server on a developer's machine, failed under CI=true.
    """
    url = await create_server_database(kind, name)
    engine = create_engine(url)
    try:
        await run_alembic(engine, "upgrade", "head")
        yield engine
    finally:
        await engine.dispose()
        await drop_server_database(kind, name)


def migrated_mariadb(name: str) -> AbstractAsyncContextManager[AsyncEngine]:
    """`migrated_database` on MariaDB, for the tests that need MariaDB itself."""
    return migrated_database("mariadb", name)


async def drop_database(engine: AsyncEngine) -> None:
    """Remove a server database made by `fresh_database` (SQLite files go with tmp_path)."""
    if engine.url.database and engine.dialect.name in ("mysql", "postgresql"):
        kind = "mariadb" if engine.dialect.name == "mysql" else "postgresql"
        await drop_server_database(kind, engine.url.database)


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
