"""A worker in this process reading a real Redis stream, as `dvorik worker` does.

What the API enqueued runs and is acknowledged; a message read by a worker that
died is run by another; a broadcast runs once at a time however its messages
come; a stopping worker stops reading.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain import broadcasts, shop_settings
from backend.domain.models import BroadcastStatus, Discount, DiscountStatus
from backend.fake_telegram import FakeTelegram
from backend.runtime import Runtime
from backend.task_queue import DvorikStreamBroker, TaskiqTaskQueue, create_broker
from backend.workers.tasks import broadcasts as broadcast_tasks
from backend.workers.worker import run_worker
from tests.factories import make_customer, make_discount
from tests.in_process_worker import (
    ACTOR,
    NINE_AM,
    REDIS_URL,
    WORKER_GRACE,
    eventually,
    pending_is,
    running_with_telegram,
)


async def test_a_worker_runs_what_the_api_enqueued_over_redis(
    redis: Redis, runtime: Runtime, sessions: async_sessionmaker[AsyncSession]
) -> None:
    queue_name = f"dvorik:test:{uuid.uuid4().hex}"
    api = TaskiqTaskQueue(create_broker(REDIS_URL, queue_name=queue_name))
    async with sessions() as session, session.begin():
        customer = await make_customer(session)
        discount = await make_discount(session, customer, issued_at=NINE_AM, valid_days=1)
    # Enqueued before any worker exists: the consumer group, made later, still sees it.
    job = await api.enqueue("expire_discounts", now=(NINE_AM + timedelta(days=2)).isoformat())

    worker = create_broker(REDIS_URL, queue_name=queue_name, consumer="worker-1")
    worker.state.runtime = runtime
    stop = asyncio.Event()
    running = asyncio.create_task(run_worker(worker, stop, grace_seconds=WORKER_GRACE))

    async def expired() -> bool:
        async with sessions() as session:
            found = await session.get(Discount, discount.id, populate_existing=True)
            return found is not None and found.status is DiscountStatus.EXPIRED

    try:
        await eventually(expired)
    finally:
        stop.set()
        await asyncio.wait_for(running, WORKER_GRACE * 4)
        await api.close()
    assert job
    group = (await redis.xinfo_groups(queue_name))[0]
    assert group["pending"] == 0  # acknowledged after it ran


async def test_a_stopping_worker_s_read_ends_even_if_redis_py_lost_its_cancel(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Python 3.11 redis-py's `asyncio.wait_for` can return normally from a cancelled
    send; the stream read then went on for ever, and Taskiq's Receiver waited for it
    (shielded) when the worker stopped: the worker hung (seen in about 1 run in 20)."""
    broker = create_broker(REDIS_URL, queue_name=f"dvorik:test:{uuid.uuid4().hex}")
    assert isinstance(broker, DvorikStreamBroker)
    await broker.startup()
    reads = 0

    async def read_losing_the_cancel(_redis: Redis) -> tuple[Any, Any]:
        nonlocal reads
        reads += 1
        with contextlib.suppress(asyncio.CancelledError):  # what wait_for does on 3.11
            await asyncio.sleep(0.05)
        return [], [b"0-0", []]

    monkeypatch.setattr(broker, "_read", read_losing_the_cancel)
    messages = broker.listen()
    reading = asyncio.create_task(anext(messages))
    try:
        await asyncio.sleep(0.2)
        reading.cancel()
        await asyncio.wait({reading}, timeout=5)
        assert reading.cancelled()
        assert reads >= 2  # the loop went on after the first read, then ended at the cancel
    finally:
        await messages.aclose()
        await broker.shutdown()


async def test_a_task_whose_worker_died_before_acking_is_run_by_another(
    redis: Redis, runtime: Runtime, sessions: async_sessionmaker[AsyncSession]
) -> None:
    queue_name = f"dvorik:test:{uuid.uuid4().hex}"
    api = TaskiqTaskQueue(create_broker(REDIS_URL, queue_name=queue_name))
    async with sessions() as session, session.begin():
        customer = await make_customer(session)
        discount = await make_discount(session, customer, issued_at=NINE_AM, valid_days=1)
    await api.enqueue("expire_discounts", now=(NINE_AM + timedelta(days=2)).isoformat())

    # Worker 1 reads the message (XREADGROUP) and dies before running or acking it.
    dying = create_broker(REDIS_URL, queue_name=queue_name, consumer="dying")
    await dying.startup()
    messages = dying.listen()
    taken = await anext(messages)
    await messages.aclose()
    await dying.shutdown()
    assert taken.data  # type: ignore[union-attr]
    assert (await redis.xinfo_groups(queue_name))[0]["pending"] == 1

    # Worker 2 claims it once it has been idle long enough (here 0.5 s; 15 min in production).
    survivor = create_broker(
        REDIS_URL, queue_name=queue_name, consumer="survivor", redeliver_after_ms=500
    )
    survivor.state.runtime = runtime
    stop = asyncio.Event()
    running = asyncio.create_task(run_worker(survivor, stop))

    async def expired() -> bool:
        async with sessions() as session:
            found = await session.get(Discount, discount.id, populate_existing=True)
            return found is not None and found.status is DiscountStatus.EXPIRED

    try:
        await eventually(expired)
        await eventually(partial(pending_is, redis, queue_name, 0))
    finally:
        stop.set()
        await asyncio.wait_for(running, WORKER_GRACE * 4)
        await api.close()


async def test_a_broadcast_runs_once_at_a_time_in_a_worker_however_its_message_comes(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A run outlasting the redelivery time, and a second message for the same broadcast.

    The broker's reclaim of idle messages must not hand the worker its own
    running message again, and a second message (a resume, the sweep) waits
    for the run in progress: two engine runs side by side would only compete.
    """
    running = peak = started = 0
    real_job = broadcast_tasks.broadcast_job

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal running, peak, started
        running, started = running + 1, started + 1
        peak = max(peak, running)
        try:
            return await real_job(*args, **kwargs)
        finally:
            running -= 1

    monkeypatch.setattr(broadcast_tasks, "broadcast_job", counted)
    fake = FakeTelegram()
    queue_name = f"dvorik:test:{uuid.uuid4().hex}"
    async with running_with_telegram(engine, fake) as runtime:
        async with sessions() as session, session.begin():
            people = [await make_customer(session) for _ in range(30)]
            await shop_settings.set_value(session, "broadcast_send_rate_per_second", 10, ACTOR)
            made = await broadcasts.create(session, title="Долгая", text="Привет!", actor=ACTOR)
            await broadcasts.send_now(session, made.id, actor=ACTOR, now=datetime.now(UTC))
        api = TaskiqTaskQueue(create_broker(REDIS_URL, queue_name=queue_name))
        await api.enqueue("process_broadcast", broadcast_id=made.id)
        await api.enqueue("process_broadcast", broadcast_id=made.id)
        # 30 messages at 10/s take 3 s, six times the redelivery time.
        worker = create_broker(
            REDIS_URL, queue_name=queue_name, consumer="w1", redeliver_after_ms=500
        )
        worker.state.runtime = runtime
        stop = asyncio.Event()
        work = asyncio.create_task(run_worker(worker, stop, grace_seconds=WORKER_GRACE))

        async def completed() -> bool:
            async with sessions() as session:
                found = await broadcasts.stats(session, made.id)
            return found.status is BroadcastStatus.COMPLETED

        try:
            await eventually(completed, within=30)
            await eventually(partial(pending_is, redis, queue_name, 0))
        finally:
            stop.set()
            await asyncio.wait_for(work, WORKER_GRACE * 4)
            await api.close()
    assert (started, peak) == (2, 1)  # the second message ran after the first run
    assert "redelivering" not in caplog.text
    assert [len(fake.messages_to(person.telegram_id)) for person in people] == [1] * 30
