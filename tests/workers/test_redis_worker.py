"""A worker in this process reading a real Redis stream, as `dvorik worker` does.

What the API enqueued runs and is acknowledged; a message read by a worker that
died is run by another; a broadcast runs once at a time however its messages
come; a stopping worker stops reading.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.fake_telegram import FakeTelegram
from backend.runtime import Runtime
from backend.task_queue import DvorikStreamBroker, create_broker
from backend.workers.tasks import broadcasts as broadcast_tasks
from tests.factories import make_customer, make_discount
from tests.in_process_worker import (
    NINE_AM,
    REDIS_URL,
    a_slow_broadcast,
    api_queue,
    broadcast_completed,
    discount_expired,
    eventually,
    own_queue_name,
    pending_is,
    running_with_telegram,
    worker_on_redis,
)

TWO_DAYS_LATER = (NINE_AM + timedelta(days=2)).isoformat()


async def a_discount_to_expire(sessions: async_sessionmaker[AsyncSession]) -> int:
    """A discount that `expire_discounts` at TWO_DAYS_LATER expires; its id."""
    async with sessions() as session, session.begin():
        customer = await make_customer(session)
        discount = await make_discount(session, customer, issued_at=NINE_AM, valid_days=1)
    return discount.id


async def test_a_worker_runs_what_the_api_enqueued_over_redis(
    redis: Redis, runtime: Runtime, sessions: async_sessionmaker[AsyncSession]
) -> None:
    queue_name = own_queue_name()
    async with api_queue(queue_name) as api:
        discount_id = await a_discount_to_expire(sessions)
        # Enqueued before any worker exists: the consumer group, made later, still sees it.
        job = await api.enqueue("expire_discounts", now=TWO_DAYS_LATER)

        async with worker_on_redis(runtime, queue_name, "worker-1"):
            await eventually(partial(discount_expired, sessions, discount_id))
    assert job
    group = (await redis.xinfo_groups(queue_name))[0]
    assert group["pending"] == 0  # acknowledged after it ran


async def test_a_stopping_worker_s_read_ends_even_if_redis_py_lost_its_cancel(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Python 3.11 redis-py's `asyncio.wait_for` can return normally from a cancelled
    send; the stream read then went on for ever, and Taskiq's Receiver waited for it
    (shielded) when the worker stopped: the worker hung (seen in about 1 run in 20)."""
    broker = create_broker(REDIS_URL, queue_name=own_queue_name())
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
    queue_name = own_queue_name()
    async with api_queue(queue_name) as api:
        discount_id = await a_discount_to_expire(sessions)
        await api.enqueue("expire_discounts", now=TWO_DAYS_LATER)

        # Worker 1 reads the message (XREADGROUP) and dies before running or acking it.
        dying = create_broker(REDIS_URL, queue_name=queue_name, consumer="dying")
        await dying.startup()
        messages = dying.listen()
        taken = await anext(messages)
        await messages.aclose()
        await dying.shutdown()
        assert taken.data  # type: ignore[union-attr]
        assert (await redis.xinfo_groups(queue_name))[0]["pending"] == 1

        # Worker 2 claims it once it has been idle long enough (here 0.5 s; 15 min in
        # production).
        async with worker_on_redis(runtime, queue_name, "survivor", redeliver_after_ms=500):
            await eventually(partial(discount_expired, sessions, discount_id))
            await eventually(partial(pending_is, redis, queue_name, 0))


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
    queue_name = own_queue_name()
    async with running_with_telegram(engine, fake) as runtime, api_queue(queue_name) as api:
        people, made = await a_slow_broadcast(sessions, 30, per_second=10)
        await api.enqueue("process_broadcast", broadcast_id=made)
        await api.enqueue("process_broadcast", broadcast_id=made)
        # 30 messages at 10/s take 3 s, six times the redelivery time.
        async with worker_on_redis(runtime, queue_name, "w1", redeliver_after_ms=500):
            await eventually(partial(broadcast_completed, sessions, made), within=30)
            await eventually(partial(pending_is, redis, queue_name, 0))
    assert (started, peak) == (2, 1)  # the second message ran after the first run
    assert "redelivering" not in caplog.text
    assert [len(fake.messages_to(person.telegram_id)) for person in people] == [1] * 30
