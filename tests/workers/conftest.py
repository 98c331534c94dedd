"""Fixtures of the worker tests: a worker's runtime, the embedded broker, Redis.

The helpers they share (running a task, what was enqueued, a worker talking to
a fake Bot API) are in tests/in_process_worker.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from taskiq import AsyncBroker

from backend.runtime import Runtime
from backend.task_queue import QUEUE
from tests.api import settings_for
from tests.databases import require_redis
from tests.in_process_worker import REDIS_URL
from tests.task_queues import RecordingTaskQueue, broker_with_tasks


@pytest.fixture
async def runtime(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Runtime]:
    """A worker's runtime on the test database; what tasks enqueue is recorded."""
    started = Runtime.start(settings_for(engine))
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
