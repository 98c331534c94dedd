"""The storage-size measurement behind docs/operations.md still runs and counts what it made.

`python -m bench.storage_size` at a tiny size, end to end on MariaDB + Redis
with its own worker and fake Bot API processes: the test asserts the rows it
reports (one delivery and one promo discount per message, an audit entry per
redemption and three for the broadcast) and that the big tables grew; it
does not judge the sizes, which at this scale are mostly InnoDB's first pages.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.databases import (
    MARIADB_SERVER_URL,
    create_mariadb_schema,
    drop_mariadb_schema,
    redis_url,
    require_redis,
    unavailable,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = redis_url("TEST_BENCH_REDIS_URL", 10)


async def test_the_storage_measurement_runs_and_counts_every_row(tmp_path: Path) -> None:
    schema = f"dvorik_storage_test_{os.getpid()}"
    try:
        await create_mariadb_schema(schema)  # reachable? (the bench recreates it)
    except Exception as error:
        unavailable("MariaDB", error)
        raise
    await require_redis(REDIS_URL)
    command = [
        sys.executable, "-m", "bench.storage_size", "--messages", "200", "--redeemed", "0.1",
        "--schema", schema, "--mariadb-url", MARIADB_SERVER_URL, "--redis-url", REDIS_URL,
        "--log-dir", str(tmp_path),
    ]  # fmt: skip
    try:
        done = await asyncio.to_thread(
            subprocess.run, command, cwd=ROOT, capture_output=True, text=True, timeout=600
        )
    finally:
        await drop_mariadb_schema(schema)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "Traceback" not in output, output
    in_all = done.stdout.split("\nin all\n", 1)[1].splitlines()[1:6]
    rows = {line.split()[0]: int(line.split()[1]) for line in in_all}
    assert rows == {
        "customers": 200,
        "broadcast_deliveries": 200,
        "discounts": 200,
        "audit_log": 20 + 3,
        "broadcasts": 1,
    }, output
    # Bytes per row; 23 audit entries still fit the table's first page, so no growth there.
    assert all(float(line.split()[3]) > 0 for line in in_all[:3]), output
