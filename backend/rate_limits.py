"""Rate limits where guessing is possible (cashier code look-ups): sliding windows.

A sliding window counts the hits of the last `window_seconds` exactly, so a
burst cannot double up across a minute boundary as it could with fixed
windows. In Redis when configured (every API process shares one count), in
memory otherwise (the embedded mode is one process).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from backend.redis_clients import client

log = logging.getLogger("dvorik.rate_limits")
REDIS_TIMEOUT = 2.0  # seconds: a look-up must not hang on a Redis that stopped answering


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until a hit would be allowed again (0 when allowed)


class RateLimiter(Protocol):
    async def hit(self, key: str, *, limit: int, window_seconds: int) -> Verdict: ...


def _verdict(hits: list[float] | deque[float], limit: int, window: int, now: float) -> Verdict:
    if len(hits) <= limit:
        return Verdict(True, 0)
    oldest_counted = sorted(hits)[-limit - 1]
    return Verdict(False, max(1, int(oldest_counted + window - now) + 1))


class InMemoryRateLimiter:
    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> Verdict:
        now = time.monotonic()
        hits = self._hits[key]
        while hits and hits[0] <= now - window_seconds:
            hits.popleft()
        hits.append(now)
        return _verdict(hits, limit, window_seconds, now)


class RedisRateLimiter:
    """The shared count in Redis; while Redis is unreachable, this process's own count.

    Failing every look-up during an outage would stop the tills; failing open
    would let guessing through. Counting per process in the meantime keeps a
    limit (at most one `limit` per API process) and the tills working.
    """

    def __init__(self, url: str) -> None:
        self._redis: Redis = client(
            url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
        )
        self._fallback = InMemoryRateLimiter()
        self._down = False

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> Verdict:
        try:
            verdict = await self._shared_hit(key, limit=limit, window_seconds=window_seconds)
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            if not self._down:
                log.warning("rate limits: Redis is unreachable (%r); counting in-process", error)
                self._down = True
            return await self._fallback.hit(key, limit=limit, window_seconds=window_seconds)
        if self._down:
            log.warning("rate limits: Redis answers again; counting in Redis")
            self._down = False
        return verdict

    async def _shared_hit(self, key: str, *, limit: int, window_seconds: int) -> Verdict:
        now = time.time()
        redis_key = f"rate:{key}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(redis_key, 0, now - window_seconds)
            pipe.zadd(redis_key, {f"{now}:{uuid.uuid4().hex[:8]}": now})
            pipe.zrange(redis_key, 0, -1, withscores=True)
            pipe.expire(redis_key, window_seconds + 1)
            _, _, members, _ = await pipe.execute()
        return _verdict([float(score) for _, score in members], limit, window_seconds, now)

    async def close(self) -> None:
        await self._redis.aclose()


def create_rate_limiter(redis_url: str | None) -> InMemoryRateLimiter | RedisRateLimiter:
    return RedisRateLimiter(redis_url) if redis_url else InMemoryRateLimiter()
