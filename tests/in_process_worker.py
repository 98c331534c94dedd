"""A Dvorik worker inside the test process: its runtime, and tasks run through its broker.

Shared by the worker tests (tests/workers): tasks through the embedded broker,
notices over a fake Bot API, the schedule, and workers reading a real Redis
stream (TEST_REDIS_URL, else redis://127.0.0.1:6379/14): skipped locally
without Redis, failed under CI=true. The fixtures on top of these (`runtime`,
`broker`, `redis`) are in tests/workers/conftest.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from taskiq import AsyncBroker

from backend.domain import broadcasts, shop_settings
from backend.domain.audit import Actor
from backend.domain.models import BroadcastStatus, Customer, Discount, DiscountKind, DiscountStatus
from backend.fake_telegram import FakeTelegram
from backend.fake_telegram import create_app as fake_telegram_app
from backend.runtime import Runtime
from backend.task_queue import TaskiqTaskQueue, create_broker
from backend.workers.worker import run_worker
from tests.api import serve_app, settings_for
from tests.databases import redis_url
from tests.factories import make_customer
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
        runtime = Runtime.start(settings, bots=False)  # as a worker's: no aiogram
        try:
            yield runtime
        finally:
            await runtime.stop()


async def pending_is(redis: Redis, queue_name: str, count: int) -> bool:
    """Whether the stream's consumer group has `count` messages read but not acknowledged."""
    return bool((await redis.xinfo_groups(queue_name))[0]["pending"] == count)


def own_queue_name() -> str:
    """A stream of this test's own on the shared Redis database (the `redis` fixture
    forgets every such stream before and after a test)."""
    return f"dvorik:test:{uuid.uuid4().hex}"


@asynccontextmanager
async def api_queue(queue_name: str) -> AsyncIterator[TaskiqTaskQueue]:
    """The API's end of the stream `queue_name`: what it enqueues, a worker reads."""
    queue = TaskiqTaskQueue(create_broker(REDIS_URL, queue_name=queue_name))
    try:
        yield queue
    finally:
        await queue.close()


@asynccontextmanager
async def worker_on_redis(
    runtime: Runtime, queue_name: str, consumer: str, **options: Any
) -> AsyncIterator[None]:
    """A worker in this process reading `queue_name` as `consumer`, as `dvorik worker` does.

    `options` go to the broker (`redeliver_after_ms`). On leaving it is stopped and
    waited for: it gives running tasks WORKER_GRACE, then cancels them itself.
    """
    worker = create_broker(REDIS_URL, queue_name=queue_name, consumer=consumer, **options)
    worker.state.runtime = runtime
    stop = asyncio.Event()
    work = asyncio.create_task(run_worker(worker, stop, grace_seconds=WORKER_GRACE))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(work, WORKER_GRACE * 4)


async def discount_expired(sessions: async_sessionmaker[AsyncSession], discount_id: int) -> bool:
    async with sessions() as session:
        found = await session.get(Discount, discount_id, populate_existing=True)
        return found is not None and found.status is DiscountStatus.EXPIRED


async def broadcast_completed(
    sessions: async_sessionmaker[AsyncSession], broadcast_id: int
) -> bool:
    async with sessions() as session:
        found = await broadcasts.stats(session, broadcast_id)
    return found.status is BroadcastStatus.COMPLETED


async def a_slow_broadcast(
    sessions: async_sessionmaker[AsyncSession], recipients: int, per_second: int
) -> tuple[list[Customer], int]:
    """A broadcast sending to `recipients` new customers at the shop's rate of `per_second`,
    started (status "sending"); its recipients and its id."""
    async with sessions() as session, session.begin():
        people = [await make_customer(session) for _ in range(recipients)]
        await shop_settings.set_value(session, "broadcast_send_rate_per_second", per_second, ACTOR)
        made = await broadcasts.create(session, title="Долгая", text="Привет!", actor=ACTOR)
        await broadcasts.send_now(session, made.id, actor=ACTOR, now=datetime.now(UTC))
    return people, made.id
