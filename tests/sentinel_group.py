"""A Redis Sentinel group of a test's own: a primary, its replica, three Sentinels, on loopback.

Quorum 2, a primary judged down after `DOWN_AFTER_MS` without an answer and
a short failover timeout, so a SIGKILLed primary is replaced within seconds.
The servers keep nothing on disk; the Sentinels rewrite their own config
files (each its own, in the test's directory), as Sentinel must.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from tests.processes import RedisServer, free_port, redis_server, spawn, tail, terminate

SERVICE = "dvorik"
QUORUM = 2
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 3000
# DEBUG SLEEP on the replica lets a test hold replication back (a lagging replica).
DEBUG = ("--enable-debug-command", "yes")


class Sentinel:
    """One `redis-server --sentinel` watching the group's primary."""

    def __init__(self, directory: Path, primary_port: int) -> None:
        self.port = free_port()
        self.log = directory / f"sentinel-{self.port}.log"
        self.config = directory / f"sentinel-{self.port}.conf"
        self.config.write_text(
            f"port {self.port}\nbind 127.0.0.1\nprotected-mode no\ndir {directory}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} {QUORUM}\n"
            f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}\n"
            f"sentinel parallel-syncs {SERVICE} 1\n"
        )
        self.process = spawn(
            ["redis-server", str(self.config), "--sentinel"], dict(os.environ), self.log
        )

    async def master(self) -> dict[str, Any]:
        """What this Sentinel knows of the group's primary (SENTINEL MASTER)."""
        async with Redis(port=self.port, socket_timeout=2, decode_responses=True) as sentinel:
            state: Any = await sentinel.sentinel_master(SERVICE)
        return dict(state)

    def stop(self) -> None:
        terminate(self.process, seconds=5)


class SentinelGroup:
    def __init__(self, primary: RedisServer, replica: RedisServer, sentinels: list[Sentinel]):
        self.primary = primary
        self.replica = replica
        self.sentinels = sentinels

    @property
    def url(self) -> str:
        """The group as Dvorik's settings name it."""
        hosts = ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    async def primary_port(self) -> int | None:
        """The port of the primary a majority of Sentinels names now (None: none agree)."""
        votes: dict[int, int] = {}
        for sentinel in self.sentinels:
            with contextlib.suppress(Exception):  # a Sentinel that does not answer has no vote
                port = int((await sentinel.master())["port"])
                votes[port] = votes.get(port, 0) + 1
        agreed = [port for port, count in votes.items() if count >= QUORUM]
        return agreed[0] if agreed else None

    async def wait_settled(self, seconds: float = 30) -> None:
        """Until every Sentinel sees the other two, the primary and its replica in sync."""
        deadline = time.monotonic() + seconds
        while True:
            states = [await sentinel.master() for sentinel in self.sentinels]
            async with Redis(port=self.replica.port, decode_responses=True) as replica:
                link = (await replica.info("replication")).get("master_link_status")
            if link == "up" and all(
                int(state["num-other-sentinels"]) == len(self.sentinels) - 1
                and int(state["num-slaves"]) >= 1
                and int(state["port"]) == self.primary.port
                for state in states
            ):
                return
            if time.monotonic() > deadline:
                logs = "\n".join(tail(sentinel.log, 10) for sentinel in self.sentinels)
                raise AssertionError(f"the Sentinel group did not settle: {states}\n{logs}")
            await asyncio.sleep(0.2)


@contextmanager
def sentinel_group(directory: Path) -> Iterator[SentinelGroup]:
    """A primary, a replica of it and three Sentinels, stopped when the block ends."""
    with ExitStack() as stack:
        primary = stack.enter_context(redis_server(directory / "primary.log", DEBUG))
        replica_of = ("--replicaof", "127.0.0.1", str(primary.port), *DEBUG)
        replica = stack.enter_context(redis_server(directory / "replica.log", replica_of))
        sentinels = [Sentinel(directory, primary.port) for _ in range(3)]
        for sentinel in sentinels:
            stack.callback(sentinel.stop)
        yield SentinelGroup(primary, replica, sentinels)
