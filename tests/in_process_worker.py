"""A Dvorik worker inside the test process: its runtime, and tasks run through its broker.

Shared by the worker tests (tests/workers): tasks through the embedded broker,
notices over a fake Bot API, the schedule, and workers reading a real Redis
stream (TEST_REDIS_URL, else redis://127.0.0.1:6379/14): skipped locally
without Redis, failed under CI=true. The fixtures on top of these (`runtime`,
`broker`, `redis`) are in tests/workers/conftest.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from taskiq import AsyncBroker

from backend.domain.audit import Actor
from backend.domain.models import Discount, DiscountKind
from backend.fake_telegram import FakeTelegram
from backend.fake_telegram import create_app as fake_telegram_app
from backend.runtime import Runtime
from tests.api import serve_app, settings_for
from tests.databases import redis_url
from tests.task_queues import RecordingTaskQueue

REDIS_URL = redis_url("TEST_REDIS_URL", 14)
# 09:00 on 10 March 2026 in Vladivostok (UTC+10).
NINE_AM = datetime(2026, 3, 9, 23, 0, tzinfo=UTC)
# A stopping worker in these tests gives its tasks this long, then cancels them
# itself; the test waits well beyond it. Cancelling the worker from outside
# while it still waits for its tasks hung a run once (seen under xdist).
WORKER_GRACE = 5.0
BIRTHDAY = date(1990, 3, 10)
CUSTOMER_TOKEN = "700000001:" + "c" * 35
CASHIER_TOKEN = "700000002:" + "k" * 35
ACTOR = Actor.system("test")


async def run(broker: AsyncBroker, task: str, **kwargs: Any) -> Any:
    """Send `task` through `broker` and wait for what it returns."""
    found = broker.find_task(task)
    assert found is not None, task
    sent = await found.kiq(**kwargs)
    result = await sent.wait_result(timeout=30)
    assert not result.is_err, result.error
    return result.return_value


def enqueued(runtime: Runtime, task: str) -> list[dict[str, object]]:
    assert isinstance(runtime.tasks, RecordingTaskQueue)
    return [kwargs for name, kwargs in runtime.tasks.enqueued if name == task]


async def birthday_count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(Discount).where(Discount.kind == DiscountKind.BIRTHDAY)
        )
    return int(count or 0)


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


@asynccontextmanager
async def running_with_telegram(engine: AsyncEngine, fake: FakeTelegram) -> AsyncIterator[Runtime]:
    """A worker-side Runtime whose bots talk to `fake`, served on real HTTP."""
    async with serve_app(fake_telegram_app(fake)) as fake_url:
        settings = settings_for(
            engine,
            telegram_api_url=fake_url,
            telegram_bot_token=CUSTOMER_TOKEN,
            telegram_auth_bot_token=CASHIER_TOKEN,
        )
        runtime = Runtime.start(settings)
        try:
            yield runtime
        finally:
            await runtime.stop()


async def pending_is(redis: Redis, queue_name: str, count: int) -> bool:
    """Whether the stream's consumer group has `count` messages read but not acknowledged."""
    return bool((await redis.xinfo_groups(queue_name))[0]["pending"] == count)
