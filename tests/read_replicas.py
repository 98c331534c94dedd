"""Read routing as a test sees it: the replicated servers it runs on, `/ready`'s replica
line and the read counter."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
from prometheus_client import REGISTRY

from tests.api import RunningServer
from tests.mariadb_replication import replicated_mariadb
from tests.postgresql_replication import replicated_postgresql
from tests.replication import Replication

# The servers a read-replica test runs on: a primary and a replica of each, the test's own.
REPLICATED: dict[str, Callable[[], AbstractAsyncContextManager[Replication]]] = {
    "mariadb": replicated_mariadb,
    "postgresql": replicated_postgresql,
}


def reads(target: str, reason: str) -> float:
    """`dvorik_database_reads_total` of this process (every runtime in it counts there)."""
    value = REGISTRY.get_sample_value(
        "dvorik_database_reads_total", {"target": target, "reason": reason}
    )
    return value or 0.0


async def ready(server: RunningServer) -> dict[str, object]:
    """`/ready`'s answer, which stays 200 whatever the replica does: the primary serves."""
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        response = await http.get("/ready")
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def replica_is(server: RunningServer, state: str) -> bool:
    """Whether `/ready`'s replica line starts with `state` ("ok", "behind", "unreachable")."""
    return str((await ready(server)).get("replica", "")).startswith(state)
