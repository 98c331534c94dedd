"""A PostgreSQL hot standby cancels a read that conflicts with the WAL it replays: the
primary runs it.

A standby replaying a change that a running query still needs (a lock the
primary took, rows vacuumed away) waits for that query up to
`max_standby_streaming_delay`, then cancels it with SQLSTATE 40001 ("conflict
with recovery"). The same read on the primary is fine, so a replica session
runs it there, as when the replica is unreachable. Here the delay is 0 and the
conflict is made on purpose: a slow read holds a table on the standby while
the primary takes that table's ACCESS EXCLUSIVE lock, which the standby must
replay.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from backend.domain.database import create_replica_engine, create_replica_sessionmaker
from tests.postgresql_replication import APP_USER, PostgreSQLReplication, replicated_postgresql
from tests.replication import wait_until

pytestmark = pytest.mark.slow

# Holds `sweets` on the standby for 3 s: time enough for the lock to be taken and replayed.
SLOW_READ = "SELECT count(*) FROM sweets CROSS JOIN pg_sleep(3)"
RUNNING = (  # the app's role is APP_USER
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE usename = 'dvorik' AND state = 'active' AND query LIKE '%pg_sleep%'"
)


@pytest.fixture
async def replication() -> AsyncIterator[PostgreSQLReplication]:
    async with replicated_postgresql(replica_settings=("max_standby_streaming_delay=0",)) as pair:
        async with pair.primary_app_engine.begin() as connection:
            await connection.execute(text("CREATE TABLE sweets (name text)"))
            await connection.execute(text("INSERT INTO sweets VALUES ('пастила'), ('зефир')"))
        await wait_until(pair.caught_up, "the table on the replica")
        yield pair


async def test_a_read_the_standby_cancels_for_a_conflict_with_replay_runs_on_the_primary(
    replication: PostgreSQLReplication,
) -> None:
    fallbacks: list[None] = []

    async def slow_read_running() -> bool:
        return bool(await replication.replica.value(RUNNING))

    replica = create_replica_engine(replication.replica.app_url())
    sessions = create_replica_sessionmaker(
        replica, replication.primary_app_engine, on_fallback=lambda: fallbacks.append(None)
    )
    try:
        async with sessions() as session:
            read = asyncio.create_task(session.scalar(text(SLOW_READ)))
            await wait_until(slow_read_running, "the slow read on the standby")
            async with replication.primary_app_engine.begin() as connection:
                await connection.execute(text("LOCK TABLE sweets IN ACCESS EXCLUSIVE MODE"))
            assert await asyncio.wait_for(read, timeout=30) == 2
    finally:
        await replica.dispose()
    assert fallbacks == [None]
    assert "conflict with recovery" in replication.replica.log.read_text(errors="replace")
    assert SLOW_READ in replication.primary.statements_of(APP_USER)
