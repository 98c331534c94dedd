"""Rate limits where guessing is possible (cashier code look-ups): fixed windows.

In Redis when it is configured, so every API process shares one count; in
memory otherwise (the embedded mode is one process).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window resets (0 when allowed)


class RateLimiter(Protocol):
    async def hit(self, key: str, *, limit: int, window_seconds: int) -> Verdict: ...


class InMemoryRateLimiter:
    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = defaultdict(int)

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> Verdict:
        now = time.time()
        window = int(now // window_seconds)
        self._counts[(key, window)] += 1
        self._forget_before(window)
        if self._counts[(key, window)] > limit:
            return Verdict(False, int((window + 1) * window_seconds - now) + 1)
        return Verdict(True, 0)

    def _forget_before(self, window: int) -> None:
        for stale in [k for k in self._counts if k[1] < window - 1]:
            del self._counts[stale]


class RedisRateLimiter:
    def __init__(self, url: str) -> None:
        self._redis: Redis = Redis.from_url(url)

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> Verdict:
        now = time.time()
        window = int(now // window_seconds)
        redis_key = f"rate:{key}:{window}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(redis_key)
            pipe.expire(redis_key, window_seconds * 2)
            count, _ = await pipe.execute()
        if int(count) > limit:
            return Verdict(False, int((window + 1) * window_seconds - now) + 1)
        return Verdict(True, 0)

    async def close(self) -> None:
        await self._redis.aclose()


def create_rate_limiter(redis_url: str | None) -> InMemoryRateLimiter | RedisRateLimiter:
    return RedisRateLimiter(redis_url) if redis_url else InMemoryRateLimiter()
