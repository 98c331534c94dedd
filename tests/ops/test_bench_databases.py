"""The benchmark suite still runs, on MariaDB and on PostgreSQL, side by side.

`python -m bench --database both` is run as `make bench-databases` runs it,
only smaller (2,000 customers, a few repetitions): on each server in turn it
seeds its own database, starts the API, the plain reference API, the fake Bot
API and a worker, prints every figure, and ends with one table of both
servers. The test asserts every figure is printed for each server and in the
table with a ratio, that the redemptions really landed in each server's own
database (so the PostgreSQL path cannot quietly run on MariaDB), and that the
PostgreSQL database was vacuumed after seeding (`servers.PostgreSQL.settle`).
It does not judge the timings (this box is shared and loaded, and the targets
are for the full size): a FAIL verdict is fine here, a crash or a missing
figure is not.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from backend.domain.database import create_engine
from backend.domain.models import AuditEntry, Customer
from tests.databases import (
    MARIADB_SERVER_URL,
    POSTGRESQL_SERVER_URL,
    create_server_database,
    drop_server_database,
    redis_url,
    require_redis,
)

pytestmark = [pytest.mark.slow, pytest.mark.mariadb, pytest.mark.postgresql]

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = redis_url("TEST_BENCH_REDIS_URL", 10)
SERVERS = {
    "mariadb": ("MariaDB", MARIADB_SERVER_URL),
    "postgresql": ("PostgreSQL", POSTGRESQL_SERVER_URL),
}
CUSTOMERS = 2000
# 10 cashiers: 2 paced and 2 burst redemptions each, then 20 raced codes.
REDEMPTIONS = 10 * 2 + 10 * 2 + 20
FIGURES = (
    f"seeding {CUSTOMERS} customers",
    "customers page, GraphQL",
    "customers page, plain FastAPI JSON",
    "customers page, GraphQL / plain",
    "customers totalCount",
    "kpi, 90 days, daily series",
    "API process peak RSS after customers + kpi",
    "segment count, 3 rules",
    "previewSegment, 3 rules",
    "redemption, 10 cashiers, paced",
    "paced redemptions that took effect",
    "redemption, 10 cashiers, burst",
    "code look-up during the burst",
    "burst redemptions that took effect",
    "race: 20 codes x 10 cashiers, codes redeemed",
    "race: double redemptions",
    "webhook intake, /start of returning customers",
    "webhook intake latency",
    "broadcast to a segment of",
    "broadcast engine ceiling",
    "broadcast worker peak RSS",
)
MUST_PASS = (
    "race: double redemptions",
    "paced redemptions that took effect",
    "burst redemptions that took effect",
)


def section(stdout: str, title: str) -> list[str]:
    """The figure lines printed after one server's run."""
    heading = f"benchmark suite, {CUSTOMERS} customers, {title},"
    assert heading in stdout, f"no results for {title}:\n{stdout}"
    lines = stdout.split(heading, 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    return [line for line in lines if re.match(r"(PASS|FAIL|INFO)  ", line)]


def table_rows(stdout: str) -> dict[str, list[str]]:
    """The side-by-side table: cells by the figure's name."""
    rows = [line for line in stdout.splitlines() if line.startswith("| ")]
    assert rows and rows[0] == (
        "| figure | target | MariaDB | PostgreSQL | PostgreSQL / MariaDB |"
    ), stdout
    cells = [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[1:]]
    return {row[0]: row[1:] for row in cells}


async def landed(kind: str, name: str) -> tuple[int, int]:
    """(customers, redemptions audited) in the bench's database on server `kind`."""
    engine = create_engine(f"{SERVERS[kind][1]}/{name}")
    try:
        async with engine.connect() as connection:
            customers = await connection.scalar(select(func.count()).select_from(Customer))
            redeemed = await connection.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "discount.redeem")
            )
    finally:
        await engine.dispose()
    return int(customers or 0), int(redeemed or 0)


async def vacuumed(name: str) -> int:
    """How often `customers` in the bench's PostgreSQL database was VACUUMed by hand."""
    engine = create_engine(f"{POSTGRESQL_SERVER_URL}/{name}")
    try:
        async with engine.connect() as connection:
            count = await connection.scalar(
                text("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'customers'")
            )
    finally:
        await engine.dispose()
    return int(count or 0)


async def test_the_smallest_benchmark_runs_on_both_servers_and_prints_them_side_by_side(
    tmp_path: Path,
) -> None:
    name = f"bench_dvorik_test_{os.getpid()}"
    for kind in SERVERS:
        await create_server_database(kind, name)  # reachable? (the bench recreates it)
    await require_redis(REDIS_URL)
    command = [
        sys.executable, "-m", "bench", "--quick", "--customers", str(CUSTOMERS), "--runs", "3",
        "--cashiers", "10", "--till-pause", "0.2", "--schema", name, "--database", "both",
        "--mariadb-url", MARIADB_SERVER_URL, "--postgresql-url", POSTGRESQL_SERVER_URL,
        "--redis-url", REDIS_URL, "--log-dir", str(tmp_path),
    ]  # fmt: skip
    try:
        done = await asyncio.to_thread(
            subprocess.run,
            command,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=480,
            check=False,
        )
        output = done.stdout + done.stderr
        assert "Traceback" not in output, output
        assert done.returncode in (0, 1), output  # 1: some target missed, which is not a crash
        for kind in SERVERS:
            assert await landed(kind, name) == (CUSTOMERS, REDEMPTIONS), (kind, output)
        assert await vacuumed(name) >= 1, output
    finally:
        for kind in SERVERS:
            await drop_server_database(kind, name)
    for title, _ in SERVERS.values():
        lines = section(done.stdout, title)
        for figure in FIGURES:
            assert any(figure in line for line in lines), f"{title}: no {figure!r} in:\n{output}"
        verdicts = {line[6:].split("  ")[0].strip(): line[:4] for line in lines}
        for figure in MUST_PASS:
            assert verdicts[figure] == "PASS", (title, output)
    rows = table_rows(done.stdout)
    for figure in FIGURES:
        matching = [cells for shown, cells in rows.items() if shown.startswith(figure)]
        assert matching, f"no row {figure!r} in:\n{output}"
        _target, mariadb, postgresql, ratio = matching[0]
        assert {mariadb[:4], postgresql[:4]} <= {"PASS", "FAIL", "INFO"}, (figure, output)
        if figure != "race: double redemptions":  # 0 / 0 has no ratio
            assert re.fullmatch(r"\d+\.\d\d( / \d+\.\d\d)?", ratio), (figure, output)
    assert ("FAIL" in done.stdout.split("\n")[-2]) == (done.returncode == 1), output
