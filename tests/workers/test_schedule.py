"""The schedule: each slot in the shop's time zone, and a slot fired by two schedulers.

With Redis a slot is queued once however many schedulers fire it; without,
the task runs twice and the domain keeps it to one effect.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from taskiq import AsyncBroker, TaskiqMessage, TaskiqMiddleware, TaskiqResult, TaskiqScheduler
from taskiq.cli.scheduler.run import is_cron_task_now

from backend.runtime import Runtime
from backend.task_queue import QUEUE, EmbeddedBroker
from backend.workers.schedule import (
    SCHEDULE,
    DvorikScheduleSource,
    run_scheduler,
    scheduled_tasks,
    slot_key,
)
from tests.api import settings_for
from tests.factories import make_customer
from tests.in_process_worker import (
    BIRTHDAY,
    NINE_AM,
    REDIS_URL,
    birthday_count,
    enqueued,
    eventually,
)


@pytest.mark.parametrize(
    ("schedule_id", "fires_at_utc"),
    [
        ("birthdays", datetime(2026, 3, 9, 23, 0, tzinfo=UTC)),  # 09:00 in Vladivostok
        ("expire-discounts", datetime(2026, 3, 9, 14, 5, tzinfo=UTC)),  # 00:05
        ("due-broadcasts", datetime(2026, 3, 9, 14, 6, tzinfo=UTC)),  # every minute
        ("due-notifications", datetime(2026, 3, 9, 14, 7, tzinfo=UTC)),  # every minute
        ("forget-old-records", datetime(2026, 3, 9, 14, 30, tzinfo=UTC)),  # hourly at :30
    ],
)
def test_schedule_runs_in_the_shops_time_zone(schedule_id: str, fires_at_utc: datetime) -> None:
    [task] = [t for t in scheduled_tasks("Asia/Vladivostok") if t.schedule_id == schedule_id]
    assert task.cron is not None

    def fires(moment: datetime) -> bool:
        return is_cron_task_now(task.cron or "", moment, offset=task.cron_offset)

    assert fires(fires_at_utc)
    every_minute = schedule_id in ("due-broadcasts", "due-notifications")
    hourly = schedule_id == "forget-old-records"
    assert every_minute or hourly or not fires(fires_at_utc + timedelta(hours=1))
    assert hourly == (fires(fires_at_utc + timedelta(hours=1)) and not every_minute)
    assert every_minute or not fires(fires_at_utc + timedelta(minutes=1))
    assert {slot.schedule_id for slot in SCHEDULE} == {
        "birthdays",
        "expire-discounts",
        "due-broadcasts",
        "due-notifications",
        "forget-old-records",
    }


class Executions(TaskiqMiddleware):
    """Counts the tasks a broker ran, by name."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        self.names.append(message.task_name)


async def fire_birthday_slot_twice(
    broker: AsyncBroker, sessions: async_sessionmaker[AsyncSession], redis: Redis | None
) -> list[str]:
    """Two scheduler processes fire 09:00 at once; returns the tasks the broker ran."""
    executions = Executions()
    broker.add_middlewares(executions)
    async with sessions() as session, session.begin():
        for _ in range(3):
            await make_customer(session, birthday=BIRTHDAY)
    [slot] = [t for t in scheduled_tasks("Asia/Vladivostok") if t.schedule_id == "birthdays"]
    slot.kwargs["now"] = NINE_AM.isoformat()  # the tasks' clock; the lock uses the sources'
    first, second = (
        DvorikScheduleSource("Asia/Vladivostok", redis, clock=lambda: NINE_AM) for _ in range(2)
    )

    await asyncio.gather(
        TaskiqScheduler(broker, [first]).on_ready(first, slot),
        TaskiqScheduler(broker, [second]).on_ready(second, slot),
    )
    assert isinstance(broker, EmbeddedBroker)
    await broker.wait_idle()
    return executions.names


async def test_two_schedulers_without_redis_run_twice_with_one_effect(
    broker: AsyncBroker, runtime: Runtime, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ran = await fire_birthday_slot_twice(broker, sessions, None)

    assert ran == ["give_birthday_discounts"] * 2  # the domain alone keeps it to one effect
    assert await birthday_count(sessions) == 3
    assert len(enqueued(runtime, "send_customer_notification")) == 3


async def test_two_schedulers_with_redis_send_the_slot_once(
    redis: Redis, broker: AsyncBroker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ran = await fire_birthday_slot_twice(broker, sessions, redis)

    assert ran == ["give_birthday_discounts"]
    assert await birthday_count(sessions) == 3
    assert await redis.pttl(slot_key("birthdays", NINE_AM)) > 0


async def test_the_scheduler_process_queues_the_minute_slot_once(
    redis: Redis, engine: AsyncEngine
) -> None:
    settings = settings_for(engine, redis_url=REDIS_URL)
    stops = [asyncio.Event(), asyncio.Event()]
    schedulers = [asyncio.create_task(run_scheduler(settings, stop)) for stop in stops]

    async def queued() -> bool:
        return bool(await redis.exists(QUEUE)) and await redis.xlen(QUEUE) >= 1

    try:
        await eventually(queued, within=5)
        await asyncio.sleep(0.5)  # the second scheduler has had its go at the same minute
    finally:
        for stop in stops:
            stop.set()
        await asyncio.wait_for(asyncio.gather(*schedulers), 10)

    entries: Any = await redis.xrange(QUEUE)
    names = [json.loads(fields[b"data"])["task_name"] for _, fields in entries]
    assert names.count("start_due_broadcasts") == 1
