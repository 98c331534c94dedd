"""Read replicas on a real primary and replica, MariaDB and PostgreSQL: who reads where, and when.

Two API processes' runtimes (in this process, sharing only Redis and the
databases) serve the same primary and replica. Replication is paused on the
replica (MariaDB's `STOP SLAVE SQL_THREAD`, PostgreSQL's
`pg_wal_replay_pause()`), so the replica holds a stale value that grows older
by the second: an admin who just wrote reads their write on the other API
(the pin, in Redis); another admin reads the stale value (the replica is
really used) until the lag passes DATABASE_READ_MAX_LAG_SECONDS; then every
read is on the primary and /ready says so, and once replication resumes,
reads return to the replica. The replica's statement log shows that the app
never wrote there and that a mutation read nothing there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from functools import partial

import httpx
import pytest

from tests.api import GraphQLClient, RunningServer, serve, settings_for, signed_in
from tests.databases import redis_url, require_redis, run_alembic
from tests.read_replicas import REPLICATED, reads, ready, replica_is
from tests.replication import Replication, wait_until

pytestmark = pytest.mark.slow

REDIS_URL = redis_url("TEST_REDIS_URL", 15)
MAX_LAG = 8.0  # DATABASE_READ_MAX_LAG_SECONDS of these APIs: the stale reads fit well under it
PIN = 1.0  # DATABASE_READ_PIN_SECONDS: short, the rule pins on the replica's progress too

CREATE = "mutation($name: String!) { createSegment(name: $name, rules: {}) { id name } }"
CREATE_COUNTED = "mutation($name: String!) { createSegment(name: $name, rules: {}) { count } }"
RENAME = """
mutation($id: Int!, $name: String!) { updateSegment(id: $id, name: $name) { id name count } }
"""
READ = "query($id: Int!) { segment(id: $id) { name count } }"


@pytest.fixture(params=list(REPLICATED))
async def replication(request: pytest.FixtureRequest) -> AsyncIterator[Replication]:
    async with REPLICATED[request.param]() as pair:
        yield pair


@pytest.fixture
async def apis(replication: Replication) -> AsyncIterator[list[RunningServer]]:
    """Two API runtimes on the migrated primary, reading from the replica, pins in Redis."""
    await require_redis(REDIS_URL)
    settings = settings_for(
        replication.primary_app_engine,
        database_read_url=replication.replica.app_url(),
        database_read_pin_seconds=PIN,
        database_read_max_lag_seconds=MAX_LAG,
        redis_url=REDIS_URL,
    )
    await run_alembic(replication.primary_app_engine, "upgrade", "head")
    async with AsyncExitStack() as stack:
        servers = [await stack.enter_async_context(serve(settings)) for _ in range(2)]
        for server in servers:
            await wait_until(partial(replica_is, server, "ok"), "the replica to serve reads")
        yield servers


async def test_an_admin_reads_own_writes_others_read_the_replica_until_it_lags(
    replication: Replication, apis: list[RunningServer]
) -> None:
    first, second = apis
    sessions = first.runtime.sessions
    writer_token = await signed_in(sessions, email="writer@dvorik.test")
    reader_token = await signed_in(sessions, email="reader@dvorik.test")
    editor_token = await signed_in(sessions, email="editor@dvorik.test")
    async with (
        httpx.AsyncClient(base_url=first.url, timeout=30) as on_first,
        httpx.AsyncClient(base_url=second.url, timeout=30) as on_second,
    ):
        writer_first = GraphQLClient(on_first, writer_token)
        writer_second = GraphQLClient(on_second, writer_token)
        reader_second = GraphQLClient(on_second, reader_token)
        segment = (await writer_first(CREATE, name="Сладкоежки")).data["createSegment"]
        await wait_until(replication.caught_up, "the segment on the replica")

        await replication.pause()
        renamed = await writer_first(RENAME, id=segment["id"], name="Лакомки")
        wrote_at = time.monotonic()
        assert renamed.data["updateSegment"]["name"] == "Лакомки"

        # A mutation of an admin with no pin reads nothing from the replica, the
        # fields of its answer included (`count` reads customers).
        replica_reads_before = await replication.app_reads()
        other = await GraphQLClient(on_first, editor_token)(CREATE_COUNTED, name="Новички")
        assert other.data["createSegment"]["count"] == 0
        assert await replication.app_reads() == replica_reads_before

        # The writer, on the other API process, reads their write at once: pinned (Redis).
        pinned = reads("primary", "pinned")
        mine = await writer_second(READ, id=segment["id"])
        assert mine.data["segment"]["name"] == "Лакомки"
        assert reads("primary", "pinned") > pinned

        # Another admin reads the replica, stale while replication is paused.
        assert await replica_is(second, "ok")
        stale = await reader_second(READ, id=segment["id"])
        assert stale.data["segment"] == {"name": "Сладкоежки", "count": 0}
        assert len(await replication.app_reads()) > len(replica_reads_before)

        # Past DATABASE_READ_PIN_SECONDS the writer still reads the primary: the
        # replica has not applied their write yet.
        await asyncio.sleep(max(0.0, PIN - (time.monotonic() - wrote_at)))
        assert await replica_is(second, "ok")
        still_mine = await writer_second(READ, id=segment["id"])
        assert still_mine.data["segment"]["name"] == "Лакомки"

        # Past the lag limit every read is on the primary, and /ready says so.
        await wait_until(lambda: replica_is(second, "behind"), "the lag to pass the limit")
        assert "reads on primary" in str((await ready(second))["replica"])
        lagging = reads("primary", "lagging")
        fresh = await reader_second(READ, id=segment["id"])
        assert fresh.data["segment"]["name"] == "Лакомки"
        assert reads("primary", "lagging") > lagging

        # Replication resumes: reads go back to the replica, which has caught up.
        await replication.resume()
        await wait_until(replication.caught_up, "the replica to catch up")
        await wait_until(lambda: replica_is(second, "ok"), "the replica to serve again")
        on_replica = reads("replica", "fresh")
        back = await reader_second(READ, id=segment["id"])
        assert back.data["segment"]["name"] == "Лакомки"
        assert reads("replica", "fresh") > on_replica

    assert await replication.app_writes() == []
