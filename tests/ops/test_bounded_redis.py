"""Redis stays bounded: the task stream is trimmed of what is done, every other key expires.

On a real Redis (TEST_REDIS_URL). The stream is filled the way workers leave
it: messages read and acknowledged, one a dead worker took and never
acknowledged, some nobody has read yet; the hourly clean-up then runs as a
task a worker takes from that very stream. Every other key Dvorik writes is
written by its own code and must carry a TTL.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from taskiq import BrokerMessage

from backend.bots.dispatchers import create_bot_apps
from backend.domain.broadcasts import Orphan
from backend.domain.clock import utcnow
from backend.rate_limits import RedisRateLimiter
from backend.runtime import Runtime
from backend.task_queue import CONSUMER_GROUP, TaskiqTaskQueue, create_broker, stream_trim
from backend.workers.schedule import claim_slot, slot_key
from backend.workers.sending import RedisSendRateLimiter
from backend.workers.tasks import BroadcastRuns
from backend.workers.tasks.clean_up import forget_old_records_job
from backend.workers.worker import run_worker
from tests.api import settings_for
from tests.databases import fresh_database, redis_url, require_redis, run_alembic

REDIS_URL = redis_url("TEST_REDIS_URL", 15)
ROOT = Path(__file__).resolve().parents[2]
KEEP_HOURS = 2  # TASK_STREAM_KEEP_HOURS in these tests
WORKER_GRACE = 5.0
CUSTOMER_TOKEN = "700000001:" + "c" * 35
CASHIER_TOKEN = "700000002:" + "k" * 35


@pytest.fixture(scope="module")
async def engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncEngine]:
    """A migrated SQLite database: the clean-up's database steps need one, Redis is the point."""
    made = await fresh_database("sqlite", tmp_path_factory.mktemp("redis"), "bounded")
    await run_alembic(made, "upgrade", "head")
    yield made
    await made.dispose()


@pytest.fixture
async def runtime(engine: AsyncEngine) -> AsyncIterator[Runtime]:
    started = Runtime.start(
        settings_for(
            engine,
            redis_url=REDIS_URL,
            task_stream_keep_hours=KEEP_HOURS,
            bot_conversation_keep_hours=5,
            telegram_bot_token=CUSTOMER_TOKEN,
            telegram_auth_bot_token=CASHIER_TOKEN,
            telegram_api_url="http://127.0.0.1:9",  # never called here
        )
    )
    yield started
    await started.stop()


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    await require_redis(REDIS_URL)
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    yield client
    ours = [key async for key in client.scan_iter("dvorik:test:*")]
    if ours:
        await client.delete(*ours)
    await client.aclose()


@pytest.fixture
def queue() -> str:
    return f"dvorik:test:tasks:{uuid.uuid4().hex}"


def at(moment: datetime, seq: int = 0) -> str:
    """The stream id of a message added at `moment` (ids are Redis's clock in ms)."""
    return f"{int(moment.timestamp() * 1000)}-{seq}"


async def add(redis: Redis, queue: str, moment: datetime, n: int) -> list[str]:
    return [str(await redis.xadd(queue, {"data": b"{}"}, id=at(moment, seq))) for seq in range(n)]


async def read(redis: Redis, queue: str, consumer: str, n: int, *, ack: bool) -> list[str]:
    """What a worker does: take `n` new messages and, if it finished them, acknowledge them."""
    taken: Any = await redis.xreadgroup(CONSUMER_GROUP, consumer, {queue: ">"}, count=n)
    ids = [str(message_id) for _, messages in taken for message_id, _ in messages]
    assert len(ids) == n
    if ack:
        await redis.xack(queue, CONSUMER_GROUP, *ids)
    return ids


async def ids_in(redis: Redis, queue: str) -> list[str]:
    messages: Any = await redis.xrange(queue)
    return [str(message_id) for message_id, _ in messages]


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_the_clean_up_task_trims_what_is_done_and_keeps_what_a_worker_needs(
    redis: Redis, runtime: Runtime, queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = utcnow()
    await redis.xgroup_create(queue, CONSUMER_GROUP, id="0", mkstream=True)
    old, recent = now - timedelta(days=3), now - timedelta(hours=1)
    await add(redis, queue, old, 3)
    dead_workers = await add(redis, queue, old + timedelta(minutes=1), 1)
    recent_done = await add(redis, queue, recent, 2)
    await read(redis, queue, "gone-worker", 3, ack=True)  # old, done by a worker since gone
    await read(redis, queue, "dead-worker", 1, ack=False)  # old, its worker died running it
    await read(redis, queue, "gone-worker", 2, ack=True)  # done within the retention
    # A consumer is "gone" after an hour without a read; here after a moment.
    monkeypatch.setattr(stream_trim, "CONSUMER_GONE_AFTER", timedelta(milliseconds=300))
    await asyncio.sleep(0.6)

    # Redelivery late enough that the live worker never takes the dead worker's message here.
    worker = create_broker(
        REDIS_URL, queue_name=queue, consumer="live-worker", redeliver_after_ms=10 * 60 * 1000
    )
    worker.state.runtime = runtime
    stop = asyncio.Event()
    running = asyncio.create_task(run_worker(worker, stop, grace_seconds=WORKER_GRACE))
    api = TaskiqTaskQueue(create_broker(REDIS_URL, queue_name=queue))
    try:
        await api.enqueue("forget_old_records")

        async def trimmed_and_acked() -> bool:
            group = (await redis.xinfo_groups(queue))[0]
            return len(await ids_in(redis, queue)) < 7 and group["pending"] == 1

        await eventually(trimmed_and_acked)
    finally:
        stop.set()
        await asyncio.wait_for(running, WORKER_GRACE * 4)
        await api.close()

    left = await ids_in(redis, queue)
    # The dead worker's message (still to run, by whoever claims it), the recent ones and
    # the clean-up's own message (running while it trimmed) stay; the old done ones went.
    assert left[:3] == dead_workers + recent_done
    assert len(left) == 4
    pending = await redis.xpending_range(queue, CONSUMER_GROUP, min="-", max="+", count=10)
    assert [(p["message_id"], p["consumer"]) for p in pending] == [(dead_workers[0], "dead-worker")]
    consumers = {c["name"] for c in await redis.xinfo_consumers(queue, CONSUMER_GROUP)}
    assert consumers == {"dead-worker", "live-worker"}  # the gone one, idle, with nothing pending


async def test_messages_nobody_has_read_are_never_trimmed_however_old(
    redis: Redis, runtime: Runtime, queue: str
) -> None:
    """Workers down for days: the backlog waits whole, and so does a stream no group reads."""
    long_ago = utcnow() - timedelta(days=5)
    broker = create_broker(REDIS_URL, queue_name=queue)
    try:
        await add(redis, queue, long_ago, 4)
        dropped = await forget_old_records_job(runtime, now=utcnow(), broker=broker)
        assert dropped["task_stream_messages"] == 0
        assert len(await ids_in(redis, queue)) == 4  # no consumer group yet: all still to read

        await redis.xgroup_create(queue, CONSUMER_GROUP, id="0")
        await read(redis, queue, "worker", 2, ack=True)
        waiting = (await ids_in(redis, queue))[2:]
        dropped = await forget_old_records_job(runtime, now=utcnow(), broker=broker)
    finally:
        await broker.shutdown()
    assert dropped["task_stream_messages"] == 2
    assert await ids_in(redis, queue) == waiting


async def test_a_backlog_beyond_ten_thousand_messages_is_kept_whole_when_queued(
    redis: Redis, queue: str
) -> None:
    """Queueing a task trims nothing (XADD used to trim to about 10,000, waiting ones too)."""
    backlog = 10_400  # workers down a while: none of these has been read
    async with redis.pipeline(transaction=False) as pipe:
        for _ in range(backlog):
            pipe.xadd(queue, {"data": b"{}"})
        await pipe.execute()
    broker = create_broker(REDIS_URL, queue_name=queue)
    try:
        await broker.kick(
            BrokerMessage(task_id="1", task_name="expire_discounts", message=b"{}", labels={})
        )
    finally:
        await broker.shutdown()
    assert await redis.xlen(queue) == backlog + 1


async def test_steady_traffic_keeps_the_stream_at_the_retention_s_worth(
    redis: Redis, runtime: Runtime, queue: str
) -> None:
    """Two days of tasks, each run and acknowledged, the clean-up hourly: the stream levels off."""
    per_hour = 20
    start = utcnow() - timedelta(hours=48)
    await redis.xgroup_create(queue, CONSUMER_GROUP, id="0", mkstream=True)
    broker = create_broker(REDIS_URL, queue_name=queue)
    lengths = []
    try:
        for hour in range(48):
            moment = start + timedelta(hours=hour)
            await add(redis, queue, moment, per_hour)
            await read(redis, queue, "worker", per_hour, ack=True)
            await forget_old_records_job(runtime, now=moment + timedelta(minutes=30), broker=broker)
            lengths.append(await redis.xlen(queue))
    finally:
        await broker.shutdown()
    assert max(lengths) <= per_hour * (KEEP_HOURS + 1)
    assert lengths[-1] == per_hour * KEEP_HOURS  # levelled off, not merely empty


def ttl_of(seconds: float) -> Callable[[int], bool]:
    """A key's TTL in ms is set and no longer than `seconds`."""
    return lambda ttl_ms: 0 < ttl_ms <= seconds * 1000


async def test_every_other_key_dvorik_writes_expires(redis: Redis, runtime: Runtime) -> None:
    """Rate limits, send slots and pauses, schedule slots, resume marks, bot conversations:
    each is written by its own code here, and each carries a TTL."""
    tag = uuid.uuid4().hex
    expected: dict[str, Callable[[int], bool]] = {}

    limiter = RedisRateLimiter(REDIS_URL)
    await limiter.hit(f"test:{tag}", limit=5, window_seconds=60)
    await limiter.close()
    expected[f"rate:test:{tag}"] = ttl_of(61)

    prefix = f"dvorik:test:send:{tag}"
    sender = RedisSendRateLimiter(REDIS_URL, 1000, prefix=prefix)
    await sender.before_send(42)
    await sender.slow_down(3)
    await sender.close()
    expected |= {f"{prefix}:{key}": ttl_of(5) for key in ("slots", "pause", "chat:42")}

    moment = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    assert await claim_slot(redis, f"test-{tag}", moment)
    expected[slot_key(f"test-{tag}", moment)] = ttl_of(5 * 60)

    runs = BroadcastRuns(REDIS_URL)
    orphan = Orphan(broadcast_id=10**9, worker_seen_at=moment)
    assert await runs.may_resume(orphan)
    await runs.close()
    expected[BroadcastRuns.resume_key(orphan)] = ttl_of(30)

    apps = create_bot_apps(runtime)
    assert apps is not None
    storage = apps.customer.dispatcher.storage
    chat = 10**12 + int(tag[:6], 16)
    key = StorageKey(bot_id=apps.customer.bot.id, chat_id=chat, user_id=chat)
    await storage.set_state(key, "BirthdayForm:waiting")
    await storage.set_data(key, {"asked": True})
    await apps.close()
    conversation = 5 * 3600  # BOT_CONVERSATION_KEEP_HOURS=5 in `runtime`
    expected[f"fsm:{chat}:{chat}:state"] = ttl_of(conversation)
    expected[f"fsm:{chat}:{chat}:data"] = ttl_of(conversation)

    try:
        ttls = {name: await redis.pttl(name) for name in expected}
        assert {name: check(ttls[name]) for name, check in expected.items()} == dict.fromkeys(
            expected, True
        ), ttls
    finally:
        await redis.delete(*expected)
    assert ttls[f"fsm:{chat}:{chat}:state"] > (conversation - 60) * 1000  # the setting's


def test_the_operations_guide_lists_every_redis_key() -> None:
    guide = (ROOT / "docs" / "operations.md").read_text()
    section = guide.split("## Storage and retention", 1)[1]
    for pattern in (
        "dvorik:tasks",
        "rate:",
        "dvorik:send:slots",
        "dvorik:send:pause",
        "dvorik:send:chat:",
        "dvorik:schedule:",
        "dvorik:broadcast-resume:",
        "fsm:",
    ):
        assert f"`{pattern}" in section, pattern
