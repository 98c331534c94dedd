"""What runs when, in the shop's time zone (TIMEZONE, Asia/Vladivostok by default).

* birthdays: daily at 09:00 (`give_birthday_discounts`);
* scheduled broadcasts: every minute (`start_due_broadcasts`);
* expired discounts: daily at 00:05 (`expire_discounts`);
* old records (Telegram updates seen, stale sign-in attempts, revocations
  and login links, finished bulk jobs, done task-stream messages): hourly at
  :30 (`forget_old_records`).

Broadcasts left "sending" with no live run are not on this schedule: every
worker process (and the embedded server) looks for them every few seconds
(`backend.workers.tasks.broadcasts.sweep_forever`), so recovery from a killed worker does
not wait for a minute slot.

Crons are read in the shop's zone: Taskiq's `cron_offset` takes a zone name
and converts "now" into it before matching.

Two schedulers started by mistake must not double anything. Two layers:

1. The domain guarantees it, with or without Redis: a birthday discount has a
   once_key per customer and year (a unique index), `send_now` locks the
   broadcast row and refuses a broadcast that is no longer scheduled, and
   `expire_due` is an UPDATE of what is still active, and the clean-up
   DELETEs only what is old. A second run of the same slot changes nothing
   and greets, starts or queues nothing.
2. With Redis, each slot is also claimed before it is sent (SET NX PX on
   `dvorik:schedule:<schedule id>:<minute UTC>`): the second scheduler drops
   its copy, so the work is not even queued twice. This saves work and
   noise; correctness never rests on it (a lock that expired or a Redis
   failover still falls back to layer 1).

The embedded mode (`run_embedded`) runs the tasks on the API process's own
broker and this schedule inside it, so `dvorik serve` alone does everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis
from taskiq import ScheduledTask, ScheduleSource, TaskiqScheduler
from taskiq.cli.scheduler.run import SchedulerLoop
from taskiq.exceptions import ScheduledTaskCancelledError

from backend.domain.clock import utcnow
from backend.domain.database import create_engine, create_sessionmaker
from backend.redis_clients import role_client
from backend.redis_roles import RedisRole, role_url
from backend.runtime import Runtime
from backend.settings import Settings
from backend.task_queue import EmbeddedBroker, QueuedRuns, TaskiqTaskQueue, create_broker
from backend.workers.tasks import register_tasks

log = logging.getLogger("dvorik.scheduler")

SLOT_LOCK_MS = 5 * 60 * 1000  # the key names the minute; expiry only cleans up
SEND_TIMEOUT_SECONDS = 10.0  # a hung broker send must not block the next slot
EMBEDDED_GRACE_SECONDS = 30.0  # how long a stopping API waits for running tasks


@dataclass(frozen=True)
class Slot:
    schedule_id: str
    task: str
    cron: str  # in the shop's time zone


SCHEDULE = (
    Slot("birthdays", "give_birthday_discounts", "0 9 * * *"),
    Slot("due-broadcasts", "start_due_broadcasts", "* * * * *"),
    # Discount notices held for quiet hours, bulk notices, any whose task was lost.
    Slot("due-notifications", "deliver_due_notifications", "* * * * *"),
    Slot("expire-discounts", "expire_discounts", "5 0 * * *"),
    # What is kept for a while only (`backend.workers.tasks.clean_up`).
    Slot("forget-old-records", "forget_old_records", "30 * * * *"),
)


def scheduled_tasks(timezone: str) -> list[ScheduledTask]:
    return [
        ScheduledTask(
            task_name=slot.task,
            labels={},
            args=[],
            kwargs={},
            schedule_id=slot.schedule_id,
            cron=slot.cron,
            cron_offset=timezone,
        )
        for slot in SCHEDULE
    ]


def slot_key(schedule_id: str, moment: datetime) -> str:
    return f"dvorik:schedule:{schedule_id}:{moment.astimezone(UTC):%Y%m%dT%H%M}"


async def claim_slot(redis: Redis, schedule_id: str, moment: datetime) -> bool:
    """True for the first scheduler to claim this schedule's minute; False for any other."""
    owner = f"{socket.gethostname()}:{os.getpid()}"
    claimed = await redis.set(slot_key(schedule_id, moment), owner, nx=True, px=SLOT_LOCK_MS)
    return bool(claimed)


class DvorikScheduleSource(ScheduleSource):
    """Our fixed schedule; with Redis, each slot is claimed before it is sent."""

    def __init__(
        self,
        timezone: str,
        redis: Redis | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.timezone = timezone
        self.redis = redis
        self.clock = clock

    async def get_schedules(self) -> list[ScheduledTask]:
        return scheduled_tasks(self.timezone)

    async def pre_send(self, task: ScheduledTask) -> None:
        if self.redis is None:
            return
        if not await claim_slot(self.redis, task.schedule_id, self.clock()):
            log.info("slot %s already claimed by another scheduler", task.schedule_id)
            raise ScheduledTaskCancelledError

    async def shutdown(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()


async def run_schedule(scheduler: TaskiqScheduler) -> None:
    """The scheduler's loop (checks every second, sends what is due); runs until cancelled."""
    await SchedulerLoop(scheduler).run(send_timeout=SEND_TIMEOUT_SECONDS)


async def run_scheduler(settings: Settings, stop: asyncio.Event) -> None:
    """`dvorik scheduler`: send the schedule's tasks to the Redis stream until `stop` is set."""
    queue_url = role_url(settings, RedisRole.QUEUE)
    if not queue_url:
        raise ValueError("the scheduler process needs REDIS_URL (embedded: `dvorik serve`)")
    broker = create_broker(queue_url)  # sends by name only
    broker.is_scheduler_process = True
    # What it sends shows as queued in the task monitor, even with every worker down.
    engine = create_engine(settings.database_url)
    broker.add_middlewares(QueuedRuns(create_sessionmaker(engine)))
    source = DvorikScheduleSource(settings.timezone, role_client(settings, RedisRole.STATE))
    scheduler = TaskiqScheduler(broker, [source])
    await source.startup()
    await scheduler.startup()
    loop = asyncio.create_task(run_schedule(scheduler))
    try:
        await stop.wait()
    finally:
        await _cancelled(loop)
        await scheduler.shutdown()
        await source.shutdown()
        await engine.dispose()


@asynccontextmanager
async def run_embedded(runtime: Runtime, *, schedule: bool = True) -> AsyncIterator[None]:
    """Without REDIS_URL: run tasks and the schedule inside this (the API) process.

    Every task is registered on the embedded broker behind `runtime.tasks`,
    and runs there with this very runtime; leaving the block stops the
    schedule and waits up to `EMBEDDED_GRACE_SECONDS` for running tasks. With
    REDIS_URL it does nothing: `dvorik worker` and `dvorik scheduler` do it.
    """
    queue = runtime.tasks
    if not isinstance(queue, TaskiqTaskQueue) or not isinstance(queue.broker, EmbeddedBroker):
        yield
        return
    broker = queue.broker
    register_tasks(broker)
    broker.state.runtime = runtime
    broker.state.sweeps = schedule  # resume broadcasts left "sending" (`sweep_forever`)
    await broker.startup()
    loop: asyncio.Task[None] | None = None
    if schedule:
        scheduler = TaskiqScheduler(broker, [DvorikScheduleSource(runtime.settings.timezone)])
        loop = asyncio.create_task(run_schedule(scheduler))
    try:
        yield
    finally:
        # Long tasks (a broadcast) stop now; the next start's sweep resumes them.
        stopping = broker.state.get("stopping")
        if isinstance(stopping, asyncio.Event):
            stopping.set()
        if loop is not None:
            await _cancelled(loop)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(EMBEDDED_GRACE_SECONDS):
                await broker.wait_idle()
        await broker.shutdown()
        broker.state.pop("runtime", None)


async def _cancelled(task: asyncio.Task[None]) -> None:
    """Cancel `task` and wait for it; a cancel of the caller still goes on up."""
    task.cancel()
    await asyncio.wait({task})
