"""The benchmark's world: a seeded MariaDB schema, Redis, and the processes under test.

The database is a schema of its own (dropped and recreated unless `--reuse`
finds one seeded for the same size), migrated with `dvorik migrate` and filled
by `demo_data.generate_volume`. The API (`dvorik serve`), the plain reference
API (`bench.plain_api`) and the fake Bot API (`dvorik fake-telegram`) run as
processes of their own, as in production; this process only drives them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from backend import demo_data
from backend.domain import admins, shop_settings
from backend.domain.audit import Actor
from backend.domain.database import create_engine, create_sessionmaker
from backend.domain.models import AdminRole, Cashier
from backend.graphql import tokens
from backend.progress_bars import progress_bar
from bench.broadcast import (
    CASHIER_TOKEN,
    CUSTOMER_TOKEN,
    DVORIK,
    base_env,
    free_port,
    migrate,
    process,
    wait_for_http,
)
from bench.measure import say

Sessions = async_sessionmaker[AsyncSession]
ACTOR = Actor.system("benchmark")
WEBHOOK_SECRET = "bench-webhook-secret-" + "s" * 24
JWT_SECRET = "bench-jwt-secret-" + "j" * 32
CASHIER_TELEGRAM_BASE = 8_100_000_000
ADMIN_EMAIL = "bench-owner@dvorik.local"
SEED_MARKER = "bench_seeded_customers"


@dataclass(frozen=True)
class Servers:
    api_url: str
    plain_url: str
    telegram_url: str
    api_pid: int
    env: dict[str, str]


async def _server_execute(server_url: str, *statements: str) -> list[Any]:
    server = create_async_engine(f"{server_url}/mysql")
    results = []
    try:
        async with server.connect() as connection:
            for statement in statements:
                result = await connection.execute(text(statement))
                results.append(result.all() if result.returns_rows else None)
    finally:
        await server.dispose()
    return results


async def seeded_size(server_url: str, schema: str) -> int | None:
    """How many customers the schema was seeded with by this bench, or None."""
    (rows,) = await _server_execute(
        server_url,
        "SELECT table_comment FROM information_schema.tables "  # noqa: S608 (our own name)
        f"WHERE table_schema = '{schema}' AND table_name = 'customers'",
    )
    if not rows or not str(rows[0][0]).startswith(SEED_MARKER + "="):
        return None
    return int(str(rows[0][0]).split("=", 1)[1])


async def prepare_database(
    server_url: str, schema: str, customers: int, *, reuse: bool, log_dir: Path
) -> tuple[str, float | None]:
    """The schema's URL and the seconds seeding took (None when reused)."""
    database_url = f"{server_url}/{schema}"
    if reuse and await seeded_size(server_url, schema) == customers:
        say(f"schema {schema}: reusing {customers} customers; migrating")
        migrate(database_url, log_dir / "migrate.log")
        return database_url, None
    await _server_execute(
        server_url,
        f"DROP DATABASE IF EXISTS `{schema}`",
        f"CREATE DATABASE `{schema}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
    )
    say(f"schema {schema}: migrating, seeding {customers} customers…")
    migrate(database_url, log_dir / "migrate.log")
    engine = create_engine(database_url)
    started = datetime.now(UTC)
    try:
        with progress_bar(transient=not sys.stdout.isatty()) as progress:
            summary = await demo_data.generate_volume(
                create_sessionmaker(engine), customers=customers, now=started, progress=progress
            )
    finally:
        await engine.dispose()
    seconds = (datetime.now(UTC) - started).total_seconds()
    say(
        f"seeded in {seconds:.0f} s: {summary.customers} customers, {summary.discounts} "
        f"discounts, {summary.broadcasts} broadcasts, {summary.deliveries} deliveries"
    )
    await _server_execute(
        server_url, f"ALTER TABLE `{schema}`.customers COMMENT '{SEED_MARKER}={customers}'"
    )
    return database_url, seconds


async def admin_token(sessions: Sessions) -> str:
    """A bearer token of an owner (created on first use), signed with the API's secret."""
    async with sessions() as session, session.begin():
        admin = await admins.find_by_email(session, ADMIN_EMAIL)
        if admin is None:
            admin = await admins.create(
                session, ADMIN_EMAIL, secrets.token_urlsafe(16), AdminRole.OWNER, actor=ACTOR
            )
    return tokens.issue(admin, secret=JWT_SECRET, now=datetime.now(UTC)).token


async def cashiers(sessions: Sessions, count: int) -> list[int]:
    """Telegram ids of `count` joined, active cashiers (created on first use)."""
    wanted = [CASHIER_TELEGRAM_BASE + number for number in range(count)]
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        have = set(
            await session.scalars(
                select(Cashier.telegram_id).where(Cashier.telegram_id.in_(wanted))
            )
        )
        missing = [
            {
                "name": f"Кассир {telegram_id - CASHIER_TELEGRAM_BASE + 1}",
                "store": ("Светланская, 33", "Алеутская, 17")[telegram_id % 2],
                "telegram_id": telegram_id,
                "joined_at": now,
                "is_active": True,
                "created_at": now,
            }
            for telegram_id in wanted
            if telegram_id not in have
        ]
        if missing:
            await session.execute(insert(Cashier), missing)
        # The look-up limit stops guessing at a real till; the bench's tills type fast.
        await shop_settings.set_value(session, "cashier_lookups_per_minute", 600, ACTOR)
    return wanted


def api_env(database_url: str, redis_url: str, telegram_url: str, port: int) -> dict[str, str]:
    env = base_env(database_url, redis_url, telegram_url)
    env.update(
        HTTP_PORT=str(port),
        WEBHOOK_SECRET=WEBHOOK_SECRET,
        JWT_SECRET_KEY=JWT_SECRET,
        TELEGRAM_BOT_TOKEN=CUSTOMER_TOKEN,
        TELEGRAM_AUTH_BOT_TOKEN=CASHIER_TOKEN,
        GRAPHQL_IDE="false",
    )
    env.pop("SUPERADMIN_TELEGRAM_ID", None)
    return env


@contextlib.asynccontextmanager
async def servers(database_url: str, redis_url: str, log_dir: Path) -> AsyncIterator[Servers]:
    """The fake Bot API, the API and the plain API, each its own process."""
    telegram_port, api_port, plain_port = free_port(), free_port(), free_port()
    telegram_url = f"http://127.0.0.1:{telegram_port}"
    env = api_env(database_url, redis_url, telegram_url, api_port)
    with contextlib.ExitStack() as stack:
        fake = stack.enter_context(
            process(
                [*DVORIK, "fake-telegram", "--port", str(telegram_port)], env, log_dir / "fake.log"
            )
        )
        api = stack.enter_context(process([*DVORIK, "serve"], env, log_dir / "api.log"))
        plain = stack.enter_context(
            process(
                [sys.executable, "-m", "bench.plain_api", "--port", str(plain_port)],
                env,
                log_dir / "plain.log",
            )
        )
        await wait_for_http(f"{telegram_url}/fake/stats", fake)
        await wait_for_http(f"http://127.0.0.1:{api_port}/health", api)
        await wait_for_http(f"http://127.0.0.1:{plain_port}/health", plain)
        yield Servers(
            api_url=f"http://127.0.0.1:{api_port}",
            plain_url=f"http://127.0.0.1:{plain_port}",
            telegram_url=telegram_url,
            api_pid=api.pid,
            env=env,
        )


@contextlib.contextmanager
def worker(env: dict[str, str], log_dir: Path, name: str) -> Iterator[Any]:
    with process([*DVORIK, "worker"], env, log_dir / f"{name}.log") as child:
        yield child


def http_client(base_url: str, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60, limits=limits)


def environment_note() -> str:
    load = os.getloadavg()
    return f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {os.cpu_count()} CPUs"


async def drop_schema(server_url: str, schema: str) -> None:
    await _server_execute(server_url, f"DROP DATABASE IF EXISTS `{schema}`")
