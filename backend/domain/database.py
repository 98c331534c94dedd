"""Engines and sessions for SQLite (embedded default) and MySQL/MariaDB.

The two engines are tuned so the same service code is correct on both:

* MySQL/MariaDB run at READ COMMITTED, so a row another transaction just
  committed (a customer inserted by a parallel /start) is visible to the
  re-read that follows a duplicate-key error.
* SQLite starts every transaction with BEGIN IMMEDIATE, which serialises
  writers up front instead of failing one of them with "database is locked"
  when both try to upgrade a read lock; WAL keeps readers off writers' backs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

T = TypeVar("T")

# MySQL error numbers that mean "try the whole transaction again".
_RETRYABLE_MYSQL_ERRORS = {1205, 1213}  # lock wait timeout, deadlock


def create_engine(
    url: str, *, echo: bool = False, pool_size: int = 10, read_only: bool = False
) -> AsyncEngine:
    """An engine for `url`; `read_only` matters on SQLite only (see `_create_sqlite_engine`)."""
    if url.startswith("sqlite"):
        return _create_sqlite_engine(url, echo=echo, read_only=read_only)
    return create_async_engine(
        url,
        echo=echo,
        isolation_level="READ COMMITTED",
        pool_pre_ping=True,
        pool_recycle=1800,
        pool_size=pool_size,
        max_overflow=pool_size,
    )


def _create_sqlite_engine(url: str, *, echo: bool, read_only: bool = False) -> AsyncEngine:
    """SQLite with WAL; writers BEGIN IMMEDIATE, a read-only engine's readers BEGIN DEFERRED.

    A read transaction that took the write lock would block every writer for
    as long as a request (or a WebSocket) holds its read session.
    """
    in_memory = ":memory:" in url or url.rstrip("/").endswith("sqlite+aiosqlite:")
    engine = create_async_engine(
        url,
        echo=echo,
        connect_args={"timeout": 30},
        poolclass=None if in_memory else NullPool,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop the driver from issuing its own BEGIN; `_on_begin` issues ours.
        dbapi_connection.isolation_level = None
        # SQLite's lower() knows only ASCII; customers' names are Cyrillic.
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def is_retryable(error: BaseException) -> bool:
    """A deadlock or lock timeout: the database asks us to run the transaction again."""
    if not isinstance(error, OperationalError | DBAPIError):
        return False
    args: tuple[object, ...] = getattr(error.orig, "args", ())
    return bool(args) and args[0] in _RETRYABLE_MYSQL_ERRORS


async def run_in_transaction(
    sessions: async_sessionmaker[AsyncSession],
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    attempts: int = 5,
) -> T:
    """Run `work` in one transaction, retrying it whole on a deadlock."""
    for attempt in range(1, attempts + 1):
        try:
            async with sessions() as session, session.begin():
                return await work(session)
        except (OperationalError, DBAPIError) as error:
            if attempt == attempts or not is_retryable(error):
                raise
            await asyncio.sleep(0.01 * attempt)
    raise AssertionError("unreachable")


@asynccontextmanager
async def open_engine(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def database_state(engine: AsyncEngine) -> str:
    """'ok' or a short description of why the database does not answer."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as error:  # reported, not raised: this is a health probe
        return f"unavailable: {type(error).__name__}"
    return "ok"
