"""The benchmark's world: a seeded database, Redis, and the processes under test.

The database is one of its own on MariaDB or PostgreSQL (`bench.servers`;
dropped and recreated unless `--reuse` finds one seeded for the same size),
migrated with `dvorik migrate` and filled by `demo_data.generate_volume`.
The API (`dvorik serve`), the plain reference API (`bench.plain_api`) and the
fake Bot API (`dvorik fake-telegram`) run as processes of their own, as in
production; this process only drives them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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
from bench.servers import DatabaseServer, server_at

Sessions = async_sessionmaker[AsyncSession]
ACTOR = Actor.system("benchmark")
KEEPALIVE_EXPIRY = 2.0  # seconds; under uvicorn's timeout_keep_alive (5 s)
WEBHOOK_SECRET = "bench-webhook-secret-" + "s" * 24
JWT_SECRET = "bench-jwt-secret-" + "j" * 32
CASHIER_TELEGRAM_BASE = 8_100_000_000
ADMIN_EMAIL = "bench-owner@dvorik.local"


@dataclass(frozen=True)
class Servers:
    api_url: str
    plain_url: str
    telegram_url: str
    api_pid: int
    env: dict[str, str]


async def prepare_database(
    server: DatabaseServer,
    name: str,
    customers: int,
    *,
    reuse: bool,
    log_dir: Path,
    seeded_at: datetime | None = None,
) -> tuple[str, float | None]:
    """The database's URL and the seconds seeding took (None when reused).

    `seeded_at` is the moment the data is generated around (default: now);
    a run on two servers passes the same one so both hold the same rows.
    """
    database_url = server.database_url(name)
    if reuse and await server.seeded_size(name) == customers:
        say(f"{server.title} {name}: reusing {customers} customers; migrating")
        migrate(database_url, log_dir / "migrate.log")
        return database_url, None
    await server.recreate(name)
    say(f"{server.title} {name}: migrating, seeding {customers} customers…")
    migrate(database_url, log_dir / "migrate.log")
    engine = create_engine(database_url)
    started = time.monotonic()
    try:
        with progress_bar(transient=not sys.stdout.isatty()) as progress:
            summary = await demo_data.generate_volume(
                create_sessionmaker(engine),
                customers=customers,
                now=seeded_at or datetime.now(UTC),
                progress=progress,
            )
    finally:
        await engine.dispose()
    await server.settle(name)
    seconds = time.monotonic() - started
    say(
        f"seeded in {seconds:.0f} s: {summary.customers} customers, {summary.discounts} "
        f"discounts, {summary.broadcasts} broadcasts, {summary.deliveries} deliveries"
    )
    await server.mark_seeded(name, customers)
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
    # Idle connections are dropped by this client well before uvicorn closes them
    # (its timeout_keep_alive is 5 s, httpx's default expiry is 5 s too): with equal
    # timers a request can go out on a connection the server is closing that very
    # moment and fail with ReadError (the 1M run's crash between bench phases).
    limits = httpx.Limits(
        max_connections=200, max_keepalive_connections=200, keepalive_expiry=KEEPALIVE_EXPIRY
    )
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60, limits=limits)


def environment_note() -> str:
    load = os.getloadavg()
    return f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {os.cpu_count()} CPUs"


async def drop_schema(server_url: str, name: str) -> None:
    await server_at(server_url).drop(name)
