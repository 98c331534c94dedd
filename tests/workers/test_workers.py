"""Taskiq tasks and the schedule: run through a real broker, on both databases.

In memory (the embedded mode) everywhere; with Redis (a stream on
redis://127.0.0.1:6379/14) where it answers: skipped locally without it,
failed under CI=true.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from taskiq import (
    AsyncBroker,
    TaskiqMessage,
    TaskiqMiddleware,
    TaskiqResult,
    TaskiqScheduler,
)
from taskiq.cli.scheduler.run import is_cron_task_now

from backend.domain import broadcasts, shop_settings
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.models import (
    Broadcast,
    BroadcastStatus,
    Customer,
    CustomerStatus,
    Discount,
    DiscountKind,
    DiscountStatus,
    LoginAttempt,
    ParseMode,
    RevokedToken,
    TelegramUpdate,
    Template,
)
from backend.domain.models.staff import LoginOutcome
from backend.fake_telegram import FakeTelegram
from backend.fake_telegram import create_app as fake_telegram_app
from backend.runtime import Runtime
from backend.task_queue import (
    CONSUMER_GROUP,
    QUEUE,
    DvorikStreamBroker,
    EmbeddedBroker,
    TaskiqTaskQueue,
    create_broker,
    create_task_queue,
)
from backend.workers.schedule import (
    SCHEDULE,
    DvorikScheduleSource,
    run_embedded,
    run_scheduler,
    scheduled_tasks,
    slot_key,
)
from backend.workers.tasks import BroadcastRuns, resume_orphaned_broadcasts_job, send_notification
from backend.workers.tasks import broadcasts as broadcast_tasks
from backend.workers.worker import run_worker
from tests.api import serve_app, settings_for
from tests.databases import redis_url, require_redis
from tests.factories import make_customer, make_discount
from tests.task_queues import RecordingTaskQueue, broker_with_tasks, sent_tasks

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


# --- tasks through the in-memory broker --------------------------------------------------------


async def test_birthday_task_issues_and_greets_once_a_day(
    broker: AsyncBroker, runtime: Runtime, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        vera = await make_customer(session, birthday=BIRTHDAY, first_name="Вера")
        await make_customer(session, birthday=BIRTHDAY, first_name="Олег")
        await make_customer(session, birthday=date(1990, 3, 11))

    first = await run(broker, "give_birthday_discounts", now=NINE_AM.isoformat())
    again = await run(broker, "give_birthday_discounts", now=(NINE_AM + timedelta(hours=5)))

    assert len(first) == 2 and again == []
    assert await birthday_count(sessions) == 2
    greetings = enqueued(runtime, "send_customer_notification")
    assert len(greetings) == 2
    to_vera = next(g for g in greetings if g["customer_id"] == vera.id)
    async with sessions() as session:
        discount = await session.scalar(select(Discount).where(Discount.customer_id == vera.id))
    assert discount is not None
    assert to_vera["template_key"] == "birthday_discount"
    assert to_vera["context"] == {
        "first_name": "Вера",
        "percent": discount.percent,
        "code": discount.code,
        "expires_on": "24.03.2026",  # given on the 10th, 14 days: through the whole 24th
    }


async def test_start_due_broadcasts_starts_each_once_when_run_twice_at_once(
    broker: AsyncBroker, runtime: Runtime, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        await make_customer(session)
        actor = Actor.system("test")
        due = await broadcasts.create(session, title="Скидки", text="Привет!", actor=actor)
        later = await broadcasts.create(session, title="Потом", text="Привет!", actor=actor)
        for broadcast, minutes in ((due, 1), (later, 60)):
            await broadcasts.schedule(
                session,
                broadcast.id,
                NINE_AM + timedelta(minutes=minutes),
                actor=actor,
                now=NINE_AM,
            )
    now = (NINE_AM + timedelta(minutes=2)).isoformat()

    results = await asyncio.gather(
        run(broker, "start_due_broadcasts", now=now), run(broker, "start_due_broadcasts", now=now)
    )

    assert sorted(results) == [[], [due.id]]
    assert enqueued(runtime, "process_broadcast") == [{"broadcast_id": due.id}]
    async with sessions() as session:
        statuses = dict((await session.execute(select(Broadcast.id, Broadcast.status))).all())
    assert statuses == {due.id: BroadcastStatus.SENDING, later.id: BroadcastStatus.SCHEDULED}


async def test_expire_task_expires_what_is_past_its_date_once(
    broker: AsyncBroker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        customer = await make_customer(session)
        short = await make_discount(session, customer, issued_at=NINE_AM, valid_days=1)
        month = await make_discount(session, customer, valid_days=30)  # from today
    # Valid through the whole next day in the shop's zone: not a moment before its end.
    last_moment = (short.expires_at - timedelta(microseconds=1)).isoformat()
    assert await run(broker, "expire_discounts", now=last_moment) == 0
    at_midnight = short.expires_at.isoformat()
    assert await run(broker, "expire_discounts", now=at_midnight) == 1
    assert await run(broker, "expire_discounts", now=at_midnight) == 0
    assert await run(broker, "expire_discounts") == 0  # no `now`: the wall clock
    async with sessions() as session:
        statuses = dict((await session.execute(select(Discount.id, Discount.status))).all())
    assert statuses == {short.id: DiscountStatus.EXPIRED, month.id: DiscountStatus.ACTIVE}


async def test_the_hourly_clean_up_forgets_old_records_and_keeps_recent_ones(
    broker: AsyncBroker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Seen Telegram updates are kept 2 days, sign-in attempts 15 minutes, revocations
    until their token expires: the scheduled clean-up drops what is older, only that."""
    async with sessions() as session, session.begin():
        for update_id, age in ((1, timedelta(days=3)), (2, timedelta(days=1))):
            session.add(
                TelegramUpdate(bot="customer", update_id=update_id, received_at=NINE_AM - age)
            )
        for age in (timedelta(hours=1), timedelta(minutes=5)):
            session.add(
                LoginAttempt(
                    email="a@example.com",
                    ip="10.0.0.1",
                    net="10.0.0.0/24",
                    at=NINE_AM - age,
                    outcome=LoginOutcome.FAILED,
                )
            )
        session.add(RevokedToken(jti="expired", expires_at=NINE_AM - timedelta(minutes=1)))
        session.add(RevokedToken(jti="valid", expires_at=NINE_AM + timedelta(minutes=10)))
    assert "forget-old-records" in {slot.schedule_id for slot in SCHEDULE}

    dropped = await run(broker, "forget_old_records", now=NINE_AM.isoformat())
    again = await run(broker, "forget_old_records", now=NINE_AM.isoformat())

    assert (dropped["telegram_updates"], dropped["sign_in"], dropped["task_runs"]) == (1, 2, 0)
    assert (again["telegram_updates"], again["sign_in"], again["task_runs"]) == (0, 0, 0)
    async with sessions() as session:
        assert list(await session.scalars(select(TelegramUpdate.update_id))) == [2]
        assert list(await session.scalars(select(LoginAttempt.at))) == [
            NINE_AM - timedelta(minutes=5)
        ]
        assert list(await session.scalars(select(RevokedToken.jti))) == ["valid"]


async def test_bulk_tasks_run_through_the_broker(
    broker: AsyncBroker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        people = [await make_customer(session) for _ in range(3)]
    ids = [person.id for person in people]

    tagged = await run(
        broker, "bulk_add_tags", customer_ids=ids, add=["vip"], remove=[], admin_id=None
    )
    given = await run(
        broker,
        "bulk_issue_discount",
        customer_ids=ids,
        kind="manual",
        reason="Праздник",
        percent=7,
        valid_days=10,
        admin_id=None,
    )

    assert (tagged, given) == (3, 3)


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


# --- notifications over a fake Telegram --------------------------------------------------------


async def test_a_notification_is_sent_and_a_blocked_customer_is_marked(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    fake = FakeTelegram()
    async with running_with_telegram(engine, fake) as runtime:
        async with sessions() as session, session.begin():
            anna = await make_customer(session, first_name="Анна")
            boris = await make_customer(session, first_name="Борис")
            gone = await make_customer(session, status=CustomerStatus.BLOCKED)
        fake.chats.blocked.add((CUSTOMER_TOKEN, boris.telegram_id))
        context = {"first_name": "Анна", "percent": 10, "code": "ABC123", "expires_on": "-"}

        outcomes = [
            await send_notification(runtime, person.id, "birthday_discount", context)
            for person in (anna, boris, gone)
        ]
        missing = await send_notification(runtime, 10**9, "birthday_discount", context)

    assert outcomes == ["sent", "blocked", "blocked"] and missing == "missing"
    [sent] = fake.messages_to(anna.telegram_id, token=CUSTOMER_TOKEN)
    assert sent.text is not None and "ABC123" in sent.text and sent.text.startswith("Анна")
    assert fake.messages_to(gone.telegram_id) == []
    async with sessions() as session:
        assert (await session.get(Customer, boris.id)).status is CustomerStatus.BLOCKED  # type: ignore[union-attr]


async def test_a_birthday_template_in_html_reaches_the_customer_formatted(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Before: the worker sent templates without their parse mode, so tags showed as typed."""
    fake = FakeTelegram()
    async with running_with_telegram(engine, fake) as runtime:
        async with sessions() as session, session.begin():
            session.add(
                Template(
                    key="birthday_discount",
                    text="<b>{first_name}, с днём рождения!</b> Код {code}, скидка {percent}%",
                    parse_mode=ParseMode.HTML,
                )
            )
            anna = await make_customer(session, first_name="Анна")
        context = {"first_name": "Анна & <Ко>", "percent": 10, "code": "ABC123", "expires_on": "-"}

        assert await send_notification(runtime, anna.id, "birthday_discount", context) == "sent"

    [sent] = fake.messages_to(anna.telegram_id, token=CUSTOMER_TOKEN)
    assert sent.params["parse_mode"] == "HTML"
    assert sent.message_id is not None
    seen = fake.chats.message(CUSTOMER_TOKEN, anna.telegram_id, sent.message_id)
    assert seen is not None
    bold = "Анна & <Ко>, с днём рождения!"
    assert seen["text"] == f"{bold} Код ABC123, скидка 10%"
    assert seen["entities"] == [{"type": "bold", "offset": 0, "length": len(bold)}]


# --- the schedule ------------------------------------------------------------------------------


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


# --- the embedded mode -------------------------------------------------------------------------


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
    assert [name for name, _ in sent.enqueued] == [
        "expire_discounts",
        "bulk_add_tags",
        "no_such_task",
    ]
    assert len({expiring, tagging, unknown}) == 3
    async with sessions() as session:
        status = await session.scalar(select(Discount.status))
    assert status is DiscountStatus.EXPIRED


# --- with Redis: a real stream, a worker in this process ---------------------------------------


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
        await eventually(partial(_pending_is, redis, queue_name, 0))
    finally:
        stop.set()
        await asyncio.wait_for(running, WORKER_GRACE * 4)
        await api.close()


async def _pending_is(redis: Redis, queue_name: str, count: int) -> bool:
    return bool((await redis.xinfo_groups(queue_name))[0]["pending"] == count)


async def test_the_api_queue_follows_redis_url(engine: AsyncEngine) -> None:
    embedded = create_task_queue(settings_for(engine))
    with_redis = create_task_queue(settings_for(engine, redis_url=REDIS_URL))

    assert isinstance(embedded.broker, EmbeddedBroker)
    assert isinstance(with_redis.broker, DvorikStreamBroker)
    await embedded.close()
    await with_redis.close()


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
            await eventually(partial(_pending_is, redis, queue_name, 0))
        finally:
            stop.set()
            await asyncio.wait_for(work, WORKER_GRACE * 4)
            await api.close()
    assert (started, peak) == (2, 1)  # the second message ran after the first run
    assert "redelivering" not in caplog.text
    assert [len(fake.messages_to(person.telegram_id)) for person in people] == [1] * 30


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


# --- broadcasts nobody sends: the heartbeat and the sweep ---------------------------------------


async def sending_broadcast(
    sessions: async_sessionmaker[AsyncSession],
    *,
    changed_ago: timedelta,
    heard_ago: timedelta | None,
) -> int:
    """A "sending" broadcast last changed `changed_ago`, its run last heard of `heard_ago`."""
    async with sessions() as session, session.begin():
        await make_customer(session)
        made = await broadcasts.create(session, title="Рассылка", text="Привет!", actor=ACTOR)
        await broadcasts.send_now(session, made.id, actor=ACTOR, now=utcnow())
    now = utcnow()
    async with sessions() as session, session.begin():
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id == made.id)
            .values(
                updated_at=now - changed_ago,
                worker_seen_at=None if heard_ago is None else now - heard_ago,
            )
        )
    return made.id


async def test_the_sweep_resumes_a_broadcast_whose_run_fell_silent_at_once_and_once(
    runtime: Runtime, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Issue 12: a killed worker's broadcast waited 149 s for the every-minute sweep."""
    killed = await sending_broadcast(
        sessions, changed_ago=timedelta(seconds=20), heard_ago=timedelta(seconds=11)
    )
    alive = await sending_broadcast(
        sessions, changed_ago=timedelta(seconds=20), heard_ago=timedelta(seconds=1)
    )
    just_sent = await sending_broadcast(sessions, changed_ago=timedelta(seconds=5), heard_ago=None)
    lost_long_ago = await sending_broadcast(
        sessions, changed_ago=timedelta(minutes=3), heard_ago=None
    )
    runs = BroadcastRuns(None)

    first = await resume_orphaned_broadcasts_job(runtime, runs)
    again = await resume_orphaned_broadcasts_job(runtime, runs)  # the next sweep, 5 s later

    # The silent run's broadcast at once; one never run once its message may be lost.
    assert sorted(first) == sorted([killed, lost_long_ago])
    assert again == []  # one resume per silent run, however many sweeps look
    assert alive not in first and just_sent not in first
    queued = [kwargs["broadcast_id"] for kwargs in enqueued(runtime, "process_broadcast")]
    assert sorted(queued, key=str) == sorted([killed, lost_long_ago], key=str)
    # The resumed run starts, beats, and dies too: its silence is a new one.
    async with sessions() as session, session.begin():
        await broadcasts.record_heartbeat(session, killed, now=utcnow() - timedelta(seconds=12))
    assert await resume_orphaned_broadcasts_job(runtime, runs) == [killed]


async def test_a_worker_process_sweeps_for_silent_broadcasts_every_few_seconds(
    redis: Redis, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """No scheduler needed: any live worker finds a dead run's broadcast within seconds."""
    fake = FakeTelegram()
    queue_name = f"dvorik:test:{uuid.uuid4().hex}"
    async with running_with_telegram(engine, fake) as runtime:
        runtime.tasks = RecordingTaskQueue()
        worker = create_broker(REDIS_URL, queue_name=queue_name, consumer="sweeper")
        worker.state.runtime = runtime
        stop = asyncio.Event()
        work = asyncio.create_task(run_worker(worker, stop, grace_seconds=WORKER_GRACE))
        try:
            killed = await sending_broadcast(
                sessions, changed_ago=timedelta(seconds=20), heard_ago=timedelta(seconds=1)
            )
            started = asyncio.get_running_loop().time()

            async def resumed() -> bool:
                return {"broadcast_id": killed} in enqueued(runtime, "process_broadcast")

            # Silent for 10 s from its last beat (1 s ago), then a sweep at most 5 s later.
            await eventually(resumed, within=20)
            waited = asyncio.get_running_loop().time() - started
        finally:
            stop.set()
            await asyncio.wait_for(work, WORKER_GRACE * 4)
    assert 8 <= waited <= 20, waited


async def test_a_long_task_is_not_taken_over_while_its_worker_lives(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], redis: Redis
) -> None:
    """The redelivery time is short (a dead worker's task runs again soon), yet a broadcast
    that outlives it many times over stays with its live worker: it keeps its message fresh.

    Another worker's reclaim (XAUTOCLAIM of what has been idle for the redelivery
    time) is tried every 0.1 s all along and never gets the message.
    """
    fake = FakeTelegram()
    queue_name = f"dvorik:test:{uuid.uuid4().hex}"
    redeliver_after_ms = 1500
    async with running_with_telegram(engine, fake) as runtime:
        async with sessions() as session, session.begin():
            people = [await make_customer(session) for _ in range(20)]
            await shop_settings.set_value(session, "broadcast_send_rate_per_second", 3, ACTOR)
            made = await broadcasts.create(session, title="Долгая", text="Привет!", actor=ACTOR)
            await broadcasts.send_now(session, made.id, actor=ACTOR, now=datetime.now(UTC))
        api = TaskiqTaskQueue(create_broker(REDIS_URL, queue_name=queue_name))
        await api.enqueue("process_broadcast", broadcast_id=made.id)
        # 20 messages at 3/s take about 7 s, over four times the redelivery time.
        worker = create_broker(
            REDIS_URL, queue_name=queue_name, consumer="w1", redeliver_after_ms=redeliver_after_ms
        )
        worker.state.runtime = runtime
        stop = asyncio.Event()
        work = asyncio.create_task(run_worker(worker, stop, grace_seconds=WORKER_GRACE))
        taken_over: list[Any] = []

        async def completed() -> bool:
            async with sessions() as session:
                found = await broadcasts.stats(session, made.id)
            return found.status is BroadcastStatus.COMPLETED

        async def another_worker() -> None:
            while True:
                await asyncio.sleep(0.1)
                with contextlib.suppress(ResponseError):  # before the group exists
                    claimed: Any = await redis.xautoclaim(
                        queue_name, CONSUMER_GROUP, "w2", min_idle_time=redeliver_after_ms
                    )
                    taken_over.extend(claimed[1])

        reclaiming = asyncio.create_task(another_worker())
        try:
            await eventually(completed, within=40)
            await eventually(partial(_pending_is, redis, queue_name, 0))
        finally:
            reclaiming.cancel()
            stop.set()
            await asyncio.wait_for(work, WORKER_GRACE * 4)
            await api.close()
    assert taken_over == []
    assert [len(fake.messages_to(person.telegram_id)) for person in people] == [1] * 20
