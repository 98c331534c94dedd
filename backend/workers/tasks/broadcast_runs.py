"""The broadcast runs of this process, and one resume at a time across the workers' sweeps.

A broadcast left "sending" with no live run is queued again by a sweep
(`backend.workers.tasks.broadcasts.sweep_forever`); every worker sweeps, so
this keeps them from all resuming the same broadcast, and keeps a
redelivered message of a broadcast already running here waiting for that run.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from backend.domain import broadcasts
from backend.redis_clients import client

# All sweeps together resume a broadcast once per run that fell silent; if no worker
# takes the message up (all busy), once more per this long.
RESUME_EVERY_MS = 30_000


class BroadcastRuns:
    """The broadcast runs of this process, and one resume at a time across the sweeps.

    Whether a run is alive anywhere is the database's to say: each run writes
    its heartbeat on the broadcast (`broadcasts.record_heartbeat`), whatever
    process it is in and whether or not Redis answers. This keeps what the
    database cannot: the runs in this very process (a redelivered message of
    a broadcast already running here waits for that run), and when a sweep
    last resumed a broadcast (in Redis, shared by every worker's sweep;
    without Redis, in this process, the only one).
    """

    def __init__(self, redis_url: str | None) -> None:
        self.local: Counter[int] = Counter()
        self.resumed: dict[str, float] = {}  # without Redis: `resume_key` → when resumed
        self.redis: Redis | None = (
            client(redis_url, socket_connect_timeout=5, socket_timeout=5) if redis_url else None
        )

    @asynccontextmanager
    async def running(self, broadcast_id: int) -> AsyncIterator[None]:
        self.local[broadcast_id] += 1
        try:
            yield
        finally:
            self.local[broadcast_id] -= 1
            if self.local[broadcast_id] <= 0:
                del self.local[broadcast_id]

    def running_here(self, broadcast_id: int) -> bool:
        return self.local[broadcast_id] > 0

    @staticmethod
    def resume_key(orphan: broadcasts.Orphan) -> str:
        """One resume per silent run: a run started by the last resume has its own heartbeat."""
        seen = orphan.worker_seen_at.isoformat() if orphan.worker_seen_at else "never"
        return f"dvorik:broadcast-resume:{orphan.broadcast_id}:{seen}"

    async def may_resume(self, orphan: broadcasts.Orphan) -> bool:
        """True for the first of the sweeps to resume this broadcast since its run fell silent."""
        key = self.resume_key(orphan)
        if self.redis is None:
            now = asyncio.get_running_loop().time()
            if now - self.resumed.get(key, -math.inf) < RESUME_EVERY_MS / 1000:
                return False
            self.resumed = {k: at for k, at in self.resumed.items() if now - at < 3600}
            self.resumed[key] = now
            return True
        return bool(await self.redis.set(key, 1, nx=True, px=RESUME_EVERY_MS))

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
