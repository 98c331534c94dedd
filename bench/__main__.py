"""The performance suite: `python -m bench` (1,000,000 customers) or `python -m bench --quick`.

Seeds (or, with `--reuse`, reuses) a database with the volume demo data (on
MariaDB; `--database postgresql` on PostgreSQL; `--database both` on MariaDB,
then PostgreSQL, with the same data, ending with a table of both side by side),
starts the API, the plain reference API and the fake Bot API as processes,
and measures every hot path of the issue "Performance at a million customers":
the GraphQL customers page against a plain FastAPI endpoint, KPIs, segment
count and preview, the API's peak memory, redemption at 50 tills and a race,
webhook intake, and a broadcast to a segment. Each figure is printed beside
its target with PASS/FAIL (INFO: reported, no target) and its margin; the exit
status is 1 when any figure FAILs. Results and how to read them: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from backend.domain.database import create_engine, create_sessionmaker
from bench import admin_paths, bot_paths, broadcast_path, comparison, world
from bench.broadcast import forget_keys
from bench.measure import Aborted, Figure, say
from bench.servers import DatabaseServer, MariaDB, PostgreSQL, check_name

FULL_SIZE = 1_000_000
QUICK_SIZE = 50_000
PHASES = ("admin", "bots", "broadcast")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SIZE} customers")
    parser.add_argument("--customers", type=int, help=f"default {FULL_SIZE} ({QUICK_SIZE} quick)")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the schema if it was seeded for this size"
    )
    parser.add_argument("--drop-after", action="store_true", help="drop the schema at the end")
    parser.add_argument(
        "--database",
        choices=("mariadb", "postgresql", "both"),
        default="mariadb",
        help="the server(s) to run on; both: MariaDB, then PostgreSQL, then a table of the two",
    )
    parser.add_argument(
        "--mariadb-url",
        default=os.environ.get("BENCH_MARIADB_URL", "mysql+asyncmy://root@127.0.0.1:3306"),
    )
    parser.add_argument(
        "--postgresql-url",
        default=os.environ.get(
            "BENCH_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432"
        ),
    )
    parser.add_argument(
        "--schema", help="the database (schema) on each server, default bench_dvorik_<customers>"
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
    )
    parser.add_argument("--runs", type=int, help="timed runs per path (default by size)")
    parser.add_argument("--cashiers", type=int, default=50)
    parser.add_argument(
        "--till-pause", type=float, default=5.0, help="seconds a till takes per customer"
    )
    parser.add_argument("--audience", type=int, help="broadcast segment size (default N/10, ≤100k)")
    parser.add_argument(
        "--only",
        choices=PHASES,
        action="append",
        help="run only this phase (repeatable): admin, bots or broadcast; default all",
    )
    parser.add_argument("--log-dir", default="/tmp/dvorik-bench-suite")  # noqa: S108
    args = parser.parse_args(argv)
    if args.customers is None:
        args.customers = QUICK_SIZE if args.quick else FULL_SIZE
    if args.schema is None:
        args.schema = f"bench_dvorik_{args.customers}"
    try:
        check_name(args.schema)
    except ValueError as error:
        parser.error(str(error))
    if args.audience is None:
        args.audience = min(100_000, max(100, args.customers // 10))
    return args


def budgets(args: argparse.Namespace) -> tuple[admin_paths.Budget, bot_paths.BotBudget]:
    if args.customers <= 10_000:  # the smoke size the test suite runs
        admin, bots = admin_paths.Budget(runs=5, warm_up=1), (2, 2, 200)
    elif args.customers <= 100_000:
        admin, bots = admin_paths.Budget(runs=20, warm_up=3), (5, 4, 1000)
    else:
        admin, bots = admin_paths.Budget(runs=30, warm_up=5), (10, 4, 2000)
    if args.runs is not None:
        admin = admin_paths.Budget(runs=args.runs, warm_up=admin.warm_up)
    paced, burst, intake = bots
    return admin, bot_paths.BotBudget(args.cashiers, paced, burst, args.till_pause, intake)


def servers(args: argparse.Namespace) -> list[DatabaseServer]:
    """The servers `--database` names, in the order they run (MariaDB first)."""
    chosen: list[DatabaseServer] = []
    if args.database in ("mariadb", "both"):
        chosen.append(MariaDB(args.mariadb_url))
    if args.database in ("postgresql", "both"):
        chosen.append(PostgreSQL(args.postgresql_url))
    return chosen


async def suite(
    args: argparse.Namespace, server: DatabaseServer, seeded_at: datetime
) -> list[Figure]:
    log_dir = Path(args.log_dir) / server.title.lower()
    log_dir.mkdir(parents=True, exist_ok=True)
    database_url, seeded = await world.prepare_database(
        server,
        args.schema,
        args.customers,
        reuse=args.reuse,
        log_dir=log_dir,
        seeded_at=seeded_at,
    )
    figures: list[Figure] = []
    if seeded is not None:
        figures.append(
            Figure(
                f"seeding {args.customers} customers (generate_volume)",
                f"{seeded:.0f} s",
                numbers=(seeded,),
            )
        )
    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    await forget_keys(args.redis_url)
    try:
        token = await world.admin_token(sessions)
        cashiers = await world.cashiers(sessions, args.cashiers)
        async with world.servers(database_url, args.redis_url, log_dir) as running:
            figures += await _measure(args, running, token, sessions, cashiers, log_dir)
    finally:
        await engine.dispose()
        await forget_keys(args.redis_url)
        if args.drop_after:
            await server.drop(args.schema)
    return figures


async def _measure(
    args: argparse.Namespace,
    running: world.Servers,
    token: str,
    sessions: world.Sessions,
    cashiers: list[int],
    log_dir: Path,
) -> list[Figure]:
    admin_budget, bot_budget = budgets(args)
    async with (
        world.http_client(running.api_url, token) as api,
        world.http_client(running.plain_url, token) as plain,
        world.http_client(running.telegram_url) as fake,
        world.http_client(running.api_url) as webhook,
    ):
        figures: list[Figure] = []
        phases = args.only or PHASES
        if "admin" in phases:
            figures += await admin_paths.run(api, plain, running.api_pid, admin_budget)
        if "bots" in phases:
            figures += await bot_paths.run(
                webhook, fake, sessions, cashiers, bot_budget, running.api_pid
            )
        if "broadcast" in phases:
            figures += await broadcast_path.run(
                sessions, fake, running.env, args.redis_url, args.audience, log_dir
            )
    return figures


async def run_all(args: argparse.Namespace) -> list[comparison.Run]:
    """The suite on each chosen server in turn, every one seeded around the same moment."""
    seeded_at = datetime.now(UTC)
    runs = []
    for server in servers(args):
        started = time.monotonic()
        say(f"{server.title}: {args.customers} customers, database {args.schema}")
        say(world.environment_note())
        figures = await suite(args, server, seeded_at)
        runs.append(
            comparison.Run(
                server.title, figures, time.monotonic() - started, world.environment_note()
            )
        )
        print(
            f"\nbenchmark suite, {args.customers} customers, {server.title}, "
            f"{runs[-1].seconds:.0f} s ({runs[-1].load})"
        )
        for figure in figures:
            print(figure.line())
        print(flush=True)
    return runs


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    Path(args.log_dir).mkdir(parents=True, exist_ok=True)
    print(f"dvorik benchmark suite: {args.customers} customers, database {args.schema}", flush=True)
    try:
        runs = asyncio.run(run_all(args))
    except Aborted as aborted:
        print(f"ABORTED  {aborted}", flush=True)
        sys.exit(2)
    if len(runs) == 2:
        print(f"side by side, {args.customers} customers ({os.cpu_count()} CPUs):")
        print("\n".join(comparison.table(*runs)))
        print()
    failed = [
        f"{run.server}: {figure.name}"
        for run in runs
        for figure in run.figures
        if figure.passed is False
    ]
    print(f"{len(failed)} FAIL" if failed else "all targets met")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
