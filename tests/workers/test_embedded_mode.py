"""The embedded mode: without Redis, `dvorik serve` runs the tasks it enqueues itself.

Also which queue the API picks (embedded or a Redis stream) and the pace a
worker is pinned to by BROADCAST_RATE_OVERRIDE.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain import broadcasts
from backend.domain.audit import Actor
from backend.domain.models import Broadcast, BroadcastStatus, Discount, DiscountStatus
from backend.fake_telegram import FakeTelegram
from backend.runtime import Runtime
from backend.task_queue import (
    DvorikStreamBroker,
    EmbeddedBroker,
    TaskiqTaskQueue,
    create_task_queue,
)
from backend.workers.schedule import SCHEDULE, run_embedded
from tests.api import settings_for
from tests.factories import make_customer, make_discount
from tests.in_process_worker import CUSTOMER_TOKEN, NINE_AM, REDIS_URL, running_with_telegram
from tests.task_queues import broker_with_tasks, sent_tasks


async def test_embedded_mode_runs_enqueued_tasks_in_process(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    runtime = Runtime.start(settings_for(engine))
    queue = runtime.tasks
    assert isinstance(queue, TaskiqTaskQueue)
    sent = sent_tasks(queue.broker)
    async with sessions() as session, session.begin():
        customer = await make_customer(session)
        await make_discount(session, customer, issued_at=NINE_AM, valid_days=1)
    try:
        async with run_embedded(runtime):
            expiring = await queue.enqueue("expire_discounts")
            tagging = await queue.enqueue(
                "bulk_add_tags", customer_ids=[customer.id], add=["vip"], remove=[], admin_id=None
            )
            unknown = await queue.enqueue("no_such_task", x=1)  # logged, not run
            await queue.wait_idle()
            tagged = await queue.broker.result_backend.get_result(tagging)
    finally:
        await runtime.stop()

    assert tagged.return_value == 1
    # The schedule's every-minute slots may tick meanwhile (a minute can begin mid-test).
    every_minute = {slot.task for slot in SCHEDULE if slot.cron == "* * * * *"}
    assert [name for name, _ in sent.enqueued if name not in every_minute] == [
        "expire_discounts",
        "bulk_add_tags",
        "no_such_task",
    ]
    assert len({expiring, tagging, unknown}) == 3
    async with sessions() as session:
        status = await session.scalar(select(Discount.status))
    assert status is DiscountStatus.EXPIRED


async def test_the_api_queue_follows_redis_url(engine: AsyncEngine) -> None:
    embedded = create_task_queue(settings_for(engine))
    with_redis = create_task_queue(settings_for(engine, redis_url=REDIS_URL))

    assert isinstance(embedded.broker, EmbeddedBroker)
    assert isinstance(with_redis.broker, DvorikStreamBroker)
    await embedded.close()
    await with_redis.close()


async def test_embedded_mode_starts_a_due_broadcast_and_sends_it(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    fake = FakeTelegram()
    async with running_with_telegram(engine, fake) as runtime:
        queue = runtime.tasks
        assert isinstance(queue, TaskiqTaskQueue)
        sent = sent_tasks(queue.broker)
        async with sessions() as session, session.begin():
            people = [await make_customer(session) for _ in range(2)]
            actor = Actor.system("test")
            news = await broadcasts.create(session, title="Новинки", text="Привет!", actor=actor)
            await broadcasts.schedule(
                session, news.id, NINE_AM + timedelta(minutes=1), actor=actor, now=NINE_AM
            )
        async with run_embedded(runtime, schedule=False):
            await queue.enqueue(
                "start_due_broadcasts", now=(NINE_AM + timedelta(minutes=1)).isoformat()
            )
            await asyncio.wait_for(queue.wait_idle(), 30)

    assert [name for name, _ in sent.enqueued] == ["start_due_broadcasts", "process_broadcast"]
    for person in people:
        assert [m.text for m in fake.messages_to(person.telegram_id, token=CUSTOMER_TOKEN)] == [
            "Привет!"
        ]
    async with sessions() as session:
        status = await session.scalar(select(Broadcast.status).where(Broadcast.id == news.id))
    assert status is BroadcastStatus.COMPLETED


async def test_a_rate_override_pins_the_worker_s_pace_above_the_shop_s_maximum(
    engine: AsyncEngine,
) -> None:
    """BROADCAST_RATE_OVERRIDE (load tests against the fake) beats the shop setting."""
    runtime = Runtime.start(settings_for(engine, broadcast_rate_override=5000))
    worker = broker_with_tasks()
    worker.state.runtime = runtime
    await worker.startup()
    try:
        limiter = worker.state.send_limiter
        assert (limiter.pinned, limiter.rate) == (True, 5000)
    finally:
        await worker.shutdown()
        await runtime.stop()
