"""Sliding-window limits, in memory and in Redis, hold under parallel hits."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from backend.rate_limits import InMemoryRateLimiter, RateLimiter, RedisRateLimiter
from tests.databases import redis_url, require_redis

REDIS_URL = redis_url("TEST_REDIS_URL", 15)


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateLimiter]:
    if request.param == "memory":
        yield InMemoryRateLimiter()
        return
    await require_redis(REDIS_URL)
    redis_limiter = RedisRateLimiter(REDIS_URL)
    yield redis_limiter
    await redis_limiter.close()


async def test_fifty_parallel_guesses_get_exactly_twenty_through(limiter: RateLimiter) -> None:
    key = f"test:{uuid.uuid4().hex}"
    verdicts = await asyncio.gather(
        *(limiter.hit(key, limit=20, window_seconds=60) for _ in range(50))
    )
    assert sum(verdict.allowed for verdict in verdicts) == 20
    refused = [verdict for verdict in verdicts if not verdict.allowed]
    assert all(1 <= verdict.retry_after <= 61 for verdict in refused)


async def test_the_window_slides(limiter: RateLimiter) -> None:
    key = f"test:{uuid.uuid4().hex}"
    assert (await limiter.hit(key, limit=1, window_seconds=1)).allowed
    assert not (await limiter.hit(key, limit=1, window_seconds=1)).allowed
    await asyncio.sleep(1.1)
    assert (await limiter.hit(key, limit=1, window_seconds=1)).allowed
