"""Fixtures of the worker tests: a worker's runtime, the embedded broker, Redis, and the
fake Bot API with the workers' Bot API client on it for the broadcast engine.

The helpers they share are in tests/in_process_worker.py (running a task, what
was enqueued, a worker talking to a fake Bot API) and tests/broadcast_runs.py
(an audience, a run of the engine).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from taskiq import AsyncBroker

from backend.fake_telegram import FakeTelegram
from backend.runtime import Runtime
from backend.task_queue import QUEUE
from backend.telegram.bot_api import BotApi
from tests.api import settings_for
from tests.broadcast_runs import TOKEN
from tests.databases import require_redis
from tests.fake_bot_api import fake, served
from tests.in_process_worker import REDIS_URL
from tests.task_queues import RecordingTaskQueue, broker_with_tasks

__all__ = ["fake", "served"]


@pytest.fixture
async def runtime(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Runtime]:
    """A worker's runtime on the test database (no aiogram); what tasks enqueue is recorded."""
    started = Runtime.start(settings_for(engine), bots=False)
    started.tasks = RecordingTaskQueue()
    yield started
    await started.stop()


@pytest.fixture
async def broker(runtime: Runtime) -> AsyncIterator[AsyncBroker]:
    """The embedded (in-memory) broker with every task, working with `runtime`."""
    in_memory = broker_with_tasks()
    in_memory.state.runtime = runtime
    await in_memory.startup()
    yield in_memory
    await in_memory.shutdown()


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    """Redis for these tests; only their own keys are touched (others may share the database)."""
    await require_redis(REDIS_URL)
    client = Redis.from_url(REDIS_URL)
    await forget_our_keys(client)
    yield client
    await forget_our_keys(client)
    await client.aclose()


async def forget_our_keys(client: Redis) -> None:
    keys = [QUEUE, *[key async for key in client.scan_iter("dvorik:schedule:*")]]
    keys += [key async for key in client.scan_iter("dvorik:test:*")]
    await client.delete(*keys)


@pytest.fixture
async def bot(served: tuple[FakeTelegram, str]) -> AsyncIterator[BotApi]:
    """The broadcast engine's Bot API client (as a worker's), on the module's fake Bot API."""
    bot = BotApi(TOKEN, served[1])
    yield bot
    await bot.close()
