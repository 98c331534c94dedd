"""Storage per 100k broadcast messages: what the kept business tables grow by, on MariaDB.

    python -m bench.storage_size [--messages 100000] [--redeemed 0.1]

Deliveries, discounts, customers and audit entries are never cleaned up (they
are the shop's records), so their size per broadcast message is what an
operator plans disk for. Measured the production way, on a fresh schema:

1. `--messages` customers with what a real one has (names, username, phone,
   birthday, consent), written in bulk;
2. one broadcast to all of them with a promo code, sent as in production:
   `send_now`, `process_broadcast` queued on the Redis stream, a `dvorik
   worker` process sending to the fake Bot API (as its own process, no send
   limit). Each message leaves its delivery row and its promo discount;
3. a share (`--redeemed`) of those codes redeemed at the till through
   `discounts.redeem`, as the cashier bot does: each changes its discount
   and writes an audit entry.

After each step `ANALYZE TABLE` and `information_schema.tables`
(`data_length + index_length`, InnoDB pages in use) give each table's size;
the table printed is the growth per step, per row and scaled to 100,000
messages. The schema is dropped at the end unless `--keep`.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import broadcasts, discounts
from backend.domain.database import create_engine, create_sessionmaker, run_in_transaction
from backend.domain.models import (
    Base,
    BroadcastStatus,
    Cashier,
    Customer,
    CustomerStatus,
    Discount,
    DiscountKind,
)
from bench.broadcast import (
    ACTOR,
    DVORIK,
    NO_LIMIT,
    Sessions,
    base_env,
    enqueue,
    forget_keys,
    free_port,
    fresh_schema,
    migrate,
    process,
    sent_count,
    status_of,
    wait_for_http,
)
from bench.world import drop_schema

TABLES = ("customers", "broadcast_deliveries", "discounts", "audit_log", "broadcasts")
PER = 100_000  # the figures are scaled to this many broadcast messages
MB = 1024 * 1024


@dataclass(frozen=True)
class Size:
    rows: int
    bytes: int


async def sizes(sessions: Sessions, schema: str) -> dict[str, Size]:
    """Each table's exact row count and its InnoDB size (data + indexes) after ANALYZE."""
    found: dict[str, Size] = {}
    async with sessions() as session:
        for table in TABLES:
            await session.execute(text(f"ANALYZE TABLE `{table}`"))
            counted = select(func.count()).select_from(Base.metadata.tables[table])
            rows = int(await session.scalar(counted) or 0)
            size = await session.scalar(
                text(
                    "SELECT data_length + index_length FROM information_schema.tables"
                    " WHERE table_schema = :schema AND table_name = :table"
                ),
                {"schema": schema, "table": table},
            )
            found[table] = Size(rows, int(size or 0))
    return found


async def add_customers(sessions: Sessions, count: int, chunk: int = 5000) -> None:
    """`count` subscribed customers with every field a real one fills in."""
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        for start in range(0, count, chunk):
            rows = []
            for n in range(start, min(count, start + chunk)):
                birthday = date(1960 + n % 45, 1 + n % 12, 1 + n % 28)
                rows.append(
                    {
                        "telegram_id": 6_000_000_000 + n,
                        "first_name": f"Анастасия {n}",
                        "last_name": f"Кузнецова {n}",
                        "username": f"customer_{n}",
                        "phone": f"+7914{n:07d}",
                        "birthday": birthday,
                        "birth_month": birthday.month,
                        "birth_day": birthday.day,
                        "language": "ru",
                        "source": "qr-store-1",
                        "status": CustomerStatus.ACTIVE,
                        "marketing_consent_at": now,
                        "subscribed_at": now,
                        "last_seen_at": now,
                        "created_at": now,
                    }
                )
            await session.execute(insert(Customer), rows)


async def send_promo_broadcast(
    sessions: Sessions, env: dict[str, str], redis_url: str, audience: int, logs: Path
) -> float:
    """One promo broadcast to everyone through a real worker; seconds it took."""
    port = free_port()
    telegram_url = f"http://127.0.0.1:{port}"
    env = {**env, "TELEGRAM_API_URL": telegram_url, **NO_LIMIT}

    async def create(session: AsyncSession) -> int:
        made = await broadcasts.create(
            session,
            title="Скидка для всех",
            text="{first_name}, ваша скидка {percent}% по коду {code} до {expires_on}!",
            promo_percent=10,
            actor=ACTOR,
        )
        await broadcasts.send_now(session, made.id, actor=ACTOR, now=datetime.now(UTC))
        return made.id

    started = time.monotonic()
    with process([*DVORIK, "fake-telegram", "--port", str(port)], env, logs / "fake.log") as fake:
        await wait_for_http(f"{telegram_url}/fake/stats", fake)
        with process([*DVORIK, "worker"], env, logs / "worker.log") as worker:
            broadcast_id = await run_in_transaction(sessions, create)
            await enqueue(redis_url, broadcast_id)
            async with httpx.AsyncClient(base_url=telegram_url, timeout=30) as http:
                while await status_of(sessions, broadcast_id) is not BroadcastStatus.COMPLETED:
                    if worker.poll() is not None:
                        raise RuntimeError("the worker died; see worker.log")
                    await asyncio.sleep(0.5)
                sent = await sent_count(http)
    if sent == 0:
        raise RuntimeError("no message reached the fake Bot API; see worker.log")
    # A few may end "failed" (ambiguous: a timeout on a loaded machine); their rows count alike.
    print(f"  {sent} of {audience} messages reached the fake Bot API", flush=True)
    return time.monotonic() - started


async def redeem_share(sessions: Sessions, share: float, concurrency: int = 8) -> int:
    """Redeem `share` of the promo codes at one till, as the cashier bot does."""
    async with sessions() as session, session.begin():
        cashier = Cashier(
            name="Кассир",
            store="Светланская",
            telegram_id=5_000_000_001,
            joined_at=datetime.now(UTC),
        )
        session.add(cashier)
        await session.flush()
        codes = list(
            await session.scalars(
                select(Discount.code)
                .where(Discount.kind == DiscountKind.PROMO)
                .order_by(Discount.id)
            )
        )
    chosen = codes[:: max(1, round(1 / share))] if share > 0 else []
    queue: asyncio.Queue[str] = asyncio.Queue()
    for code in chosen:
        queue.put_nowait(code)

    async def till() -> None:
        while not queue.empty():
            code = queue.get_nowait()
            await run_in_transaction(
                sessions,
                lambda session, code=code: discounts.redeem(
                    session,
                    code,
                    cashier,
                    now=datetime.now(UTC) + timedelta(minutes=1),
                    purchase_amount=Decimal("1250.50"),
                ),
            )

    await asyncio.gather(*(till() for _ in range(concurrency)))
    return len(chosen)


def report(title: str, before: dict[str, Size], after: dict[str, Size], messages: int) -> None:
    print(f"\n{title}")
    print(f"  {'table':<22}{'rows':>9}{'MB':>9}{'bytes/row':>11}{'MB per 100k msgs':>18}")
    for table in TABLES:
        rows = after[table].rows - before[table].rows
        size = after[table].bytes - before[table].bytes
        if rows <= 0 and size <= 0:
            continue
        per_row = f"{size / rows:.0f}" if rows > 0 else "-"  # rows changed in place
        print(
            f"  {table:<22}{rows:>9}{size / MB:>9.1f}{per_row:>11}"
            f"{size / MB * PER / messages:>18.1f}"
        )


async def run(args: argparse.Namespace) -> None:
    logs = Path(args.log_dir)
    database_url = await fresh_schema(args.mariadb_url, args.schema)
    await asyncio.to_thread(migrate, database_url, logs / "migrate.log")
    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    env = base_env(database_url, args.redis_url, "http://127.0.0.1:9")
    try:
        empty = await sizes(sessions, args.schema)
        await add_customers(sessions, args.messages)
        with_customers = await sizes(sessions, args.schema)
        report(f"{args.messages} customers", empty, with_customers, args.messages)
        await forget_keys(args.redis_url)
        took = await send_promo_broadcast(sessions, env, args.redis_url, args.messages, logs)
        sent = await sizes(sessions, args.schema)
        report(
            f"one promo broadcast, {args.messages} messages ({took:.0f} s)",
            with_customers,
            sent,
            args.messages,
        )
        redeemed = await redeem_share(sessions, args.redeemed)
        after = await sizes(sessions, args.schema)
        report(
            f"{redeemed} of its codes redeemed at the till ({args.redeemed:.0%})",
            sent,
            after,
            args.messages,
        )
        report("in all", empty, after, args.messages)
    finally:
        await engine.dispose()
        await forget_keys(args.redis_url)
        if not args.keep:
            await drop_schema(args.mariadb_url, args.schema)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=PER, help="customers = messages")
    parser.add_argument("--redeemed", type=float, default=0.1, help="share of codes redeemed")
    parser.add_argument("--mariadb-url", default="mysql+asyncmy://root@127.0.0.1:3306")
    parser.add_argument("--schema", default="dvorik_storage_size")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--log-dir", default="/tmp/dvorik-storage-size")  # noqa: S108
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    args = parser.parse_args(argv)
    Path(args.log_dir).mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    asyncio.run(run(args))
    print(f"\nstorage size, {args.messages} messages, {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
