"""Which real errors count as an outage (`backend.outages`): exactly those waiting cures.

Every error here is produced by the real thing: MariaDB refusing, killing a
connection, timing out a lock; a pool run dry; SQLite locked; a Redis port
with nobody on it, a Redis that accepts and never answers, a wrong Redis
password; the task queue on a dead Redis; the Bot API unreachable. An outage
turns into UNAVAILABLE / HTTP 503 (retry); everything else stays a bug
(INTERNAL) or a typed answer, so "retry in a moment" is never said of a
request that would fail again.

Needs MariaDB and Redis: skipped locally without them, failed under CI=true.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from backend.domain.database import create_engine
from backend.domain.errors import CodeNotFound
from backend.outages import is_outage, outage_of
from backend.task_queue.queue import TaskiqTaskQueue, create_broker
from backend.telegram.clients import create_bot
from tests.databases import (
    MARIADB_SERVER_URL,
    create_mariadb_schema,
    drop_mariadb_schema,
    redis_url,
    require_redis,
    unavailable,
)
from tests.outage_cases import one_row_table, silent_port, statement
from tests.processes import free_port

pytestmark = [pytest.mark.mariadb]

REDIS_URL = redis_url("TEST_REDIS_URL", 15)


@dataclass
class Services:
    url: str  # a MariaDB schema with a one-row table `t`
    engine: AsyncEngine
    admin: AsyncEngine  # a second engine on it: the DBA's connection, the other transaction
    tmp: Path
    closed_port: int  # nobody listens there
    silent_port: int  # accepts connections and never says a word


@pytest.fixture(scope="module")
async def services(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Services]:
    await require_redis(REDIS_URL)
    name = f"dvorik_outages_{os.getpid()}"
    try:
        url = await create_mariadb_schema(name)
    except Exception as error:
        unavailable("MariaDB", error)
        raise
    engine, admin = create_engine(url), create_engine(url)
    await one_row_table(engine)
    async with silent_port() as port:
        try:
            yield Services(
                url, engine, admin, tmp_path_factory.mktemp("outages"), free_port(), port
            )
        finally:
            await engine.dispose()
            await admin.dispose()
            await drop_mariadb_schema(name)


async def mariadb_refuses(s: Services) -> None:
    await statement(create_engine(f"mysql+asyncmy://root@127.0.0.1:{s.closed_port}/x"), "SELECT 1")


async def mariadb_kills_the_connection(s: Services) -> None:
    async with s.engine.connect() as connection:
        own = await connection.scalar(text("SELECT CONNECTION_ID()"))
        async with s.admin.connect() as dba:
            await dba.execute(text(f"KILL CONNECTION {own}"))
        await connection.execute(text("SELECT 1"))  # server has gone away


async def no_pooled_connection_comes_free(s: Services) -> None:
    engine = create_async_engine(s.url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    try:
        async with engine.connect() as held:
            await held.execute(text("SELECT 1"))
            async with engine.connect() as second:
                await second.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


async def redis_refuses(s: Services) -> None:
    await Redis.from_url(f"redis://127.0.0.1:{s.closed_port}/0").ping()


async def redis_never_answers(s: Services) -> None:
    client = Redis.from_url(
        f"redis://127.0.0.1:{s.silent_port}/0", socket_timeout=0.3, socket_connect_timeout=0.3
    )
    await client.ping()


async def task_queue_on_a_dead_redis(s: Services) -> None:
    queue = TaskiqTaskQueue(create_broker(f"redis://127.0.0.1:{s.closed_port}/0"))
    await queue.enqueue("bulk_add_tags", customer_ids=[1], add=["x"])


async def lock_wait_timeout(s: Services) -> None:
    async with s.admin.connect() as holder, holder.begin():
        await holder.execute(text("SELECT v FROM t WHERE id = 1 FOR UPDATE"))
        async with s.engine.connect() as waiter:
            await waiter.execute(text("SET SESSION innodb_lock_wait_timeout = 1"))
            await waiter.execute(text("UPDATE t SET v = 2 WHERE id = 1"))


async def missing_table(s: Services) -> None:
    async with s.engine.connect() as connection:
        await connection.execute(text("SELECT * FROM customers_dropped"))


async def unknown_database(s: Services) -> None:
    nowhere = create_engine(f"{MARIADB_SERVER_URL}/no_such_schema_{os.getpid()}")
    await statement(nowhere, "SELECT 1")


async def sqlite_locked(s: Services) -> None:
    url = f"sqlite+aiosqlite:///{s.tmp / 'locked.db'}"
    first = create_async_engine(url, connect_args={"timeout": 0.1})
    second = create_async_engine(url, connect_args={"timeout": 0.1})
    try:
        async with first.connect() as writer:
            await writer.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (id INT)")
            await writer.commit()
            await writer.exec_driver_sql("BEGIN IMMEDIATE")
            async with second.connect() as other:
                await other.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        await first.dispose()
        await second.dispose()


async def redis_wrong_password(s: Services) -> None:
    await Redis.from_url(REDIS_URL.replace("redis://", "redis://nobody:wrong@")).ping()


async def redis_wrong_type(s: Services) -> None:
    client = Redis.from_url(REDIS_URL)
    try:
        await client.set("dvorik:outage-test:string", "x")
        await client.lpush("dvorik:outage-test:string", "y")
    finally:
        await client.delete("dvorik:outage-test:string")
        await client.aclose()


async def bot_api_unreachable(s: Services) -> None:
    bot = create_bot("700000009:" + "z" * 35, f"http://127.0.0.1:{s.closed_port}")
    try:
        await bot.get_me()
    finally:
        await bot.session.close()


async def a_domain_refusal(s: Services) -> None:
    raise CodeNotFound("no discount has this code")


Case = Callable[[Services], Awaitable[None]]
OUTAGES: list[tuple[Case, str]] = [
    (mariadb_refuses, "database"),
    (mariadb_kills_the_connection, "database"),
    (no_pooled_connection_comes_free, "database"),
    (redis_refuses, "Redis"),
    (redis_never_answers, "Redis"),
    (task_queue_on_a_dead_redis, "task queue"),
]
NOT_OUTAGES: list[Case] = [
    lock_wait_timeout,
    missing_table,
    unknown_database,
    sqlite_locked,
    redis_wrong_password,
    redis_wrong_type,
    bot_api_unreachable,
    a_domain_refusal,
]


@pytest.mark.parametrize(("case", "what"), OUTAGES, ids=[case.__name__ for case, _ in OUTAGES])
async def test_an_unreachable_service_is_an_outage(
    services: Services, case: Case, what: str
) -> None:
    with pytest.raises(Exception) as caught:
        await asyncio.wait_for(case(services), 30)
    assert outage_of(caught.value) == what, repr(caught.value)


@pytest.mark.parametrize("case", NOT_OUTAGES, ids=[case.__name__ for case in NOT_OUTAGES])
async def test_a_service_that_answers_is_no_outage(services: Services, case: Case) -> None:
    with pytest.raises(Exception) as caught:
        await asyncio.wait_for(case(services), 30)
    assert not isinstance(caught.value, TimeoutError), "the case hung instead of failing"
    assert not is_outage(caught.value), repr(caught.value)
