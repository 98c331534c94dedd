"""Which real PostgreSQL errors count as an outage (`backend.outages`), as on MariaDB.

The server refusing the connection, a port that accepts and never answers,
and a connection the server terminates (`pg_terminate_backend`, what a fast
shutdown or a DBA does) are outages: waiting cures them. A lock timeout, a
serialization failure, a missing table and an unknown database are not:
retrying the request at once would fail again, or `run_in_transaction`
already retried it (the first two are what it retries, `is_retryable`).

Needs PostgreSQL: skipped locally without it, failed under CI=true.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.domain.database import create_engine, is_retryable
from backend.outages import is_outage, outage_of
from tests.databases import (
    POSTGRESQL_SERVER_URL,
    create_server_database,
    drop_server_database,
)
from tests.outage_cases import one_row_table, silent_port, statement
from tests.processes import free_port

pytestmark = [pytest.mark.postgresql]


@dataclass
class Services:
    url: str  # a PostgreSQL database with a one-row table `t`
    engine: AsyncEngine
    admin: AsyncEngine  # a second engine on it: the DBA's connection, the other transaction
    closed_port: int  # nobody listens there
    silent_port: int  # accepts connections and never says a word


@pytest.fixture(scope="module")
async def services() -> AsyncIterator[Services]:
    name = f"dvorik_pg_outages_{os.getpid()}"
    url = await create_server_database("postgresql", name)
    engine, admin = create_engine(url), create_engine(url)
    await one_row_table(engine)
    async with silent_port() as port:
        try:
            yield Services(url, engine, admin, free_port(), port)
        finally:
            await engine.dispose()
            await admin.dispose()
            await drop_server_database("postgresql", name)


async def postgresql_refuses(s: Services) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{s.closed_port}/x"
    await statement(create_engine(url), "SELECT 1")


async def postgresql_never_answers(s: Services) -> None:
    """The connect times out (CONNECT_TIMEOUT, 5 s): a hung server, or a black-holed route."""
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{s.silent_port}/x"
    await statement(create_engine(url), "SELECT 1")


async def postgresql_terminates_the_connection(s: Services) -> None:
    async with s.engine.connect() as connection:
        own = await connection.scalar(text("SELECT pg_backend_pid()"))
        async with s.admin.connect() as dba:
            await dba.execute(text(f"SELECT pg_terminate_backend({own})"))
        await connection.execute(text("SELECT 1"))


async def lock_timeout(s: Services) -> None:
    async with s.admin.connect() as holder, holder.begin():
        await holder.execute(text("SELECT v FROM t WHERE id = 1 FOR UPDATE"))
        async with s.engine.connect() as waiter:
            await waiter.execute(text("SET lock_timeout = '1s'"))
            await waiter.execute(text("UPDATE t SET v = 2 WHERE id = 1"))


async def serialization_failure(s: Services) -> None:
    async with s.engine.connect() as first, s.admin.connect() as second:
        await first.execution_options(isolation_level="REPEATABLE READ")
        await first.begin()
        await first.execute(text("SELECT v FROM t WHERE id = 1"))  # the snapshot
        async with second.begin():
            await second.execute(text("UPDATE t SET v = v + 1 WHERE id = 1"))
        await first.execute(text("UPDATE t SET v = v + 1 WHERE id = 1"))


async def missing_table(s: Services) -> None:
    async with s.engine.connect() as connection:
        await connection.execute(text("SELECT * FROM customers_dropped"))


async def unknown_database(s: Services) -> None:
    nowhere = create_engine(f"{POSTGRESQL_SERVER_URL}/no_such_database_{os.getpid()}")
    await statement(nowhere, "SELECT 1")


Case = Callable[[Services], Awaitable[None]]
OUTAGES: list[Case] = [
    postgresql_refuses,
    postgresql_never_answers,
    postgresql_terminates_the_connection,
]
NOT_OUTAGES: list[tuple[Case, bool]] = [  # and whether `run_in_transaction` retries it
    (lock_timeout, True),
    (serialization_failure, True),
    (missing_table, False),
    (unknown_database, False),
]


@pytest.mark.parametrize("case", OUTAGES, ids=[case.__name__ for case in OUTAGES])
async def test_an_unreachable_postgresql_is_an_outage(services: Services, case: Case) -> None:
    with pytest.raises(Exception) as caught:
        await asyncio.wait_for(case(services), 30)
    assert outage_of(caught.value) == "database", repr(caught.value)


@pytest.mark.parametrize(
    ("case", "retried"), NOT_OUTAGES, ids=[case.__name__ for case, _ in NOT_OUTAGES]
)
async def test_a_postgresql_that_answers_is_no_outage(
    services: Services, case: Case, retried: bool
) -> None:
    with pytest.raises(Exception) as caught:
        await asyncio.wait_for(case(services), 30)
    assert not isinstance(caught.value, TimeoutError), "the case hung instead of failing"
    assert not is_outage(caught.value), repr(caught.value)
    assert is_retryable(caught.value) == retried, repr(caught.value)
