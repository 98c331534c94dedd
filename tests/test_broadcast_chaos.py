"""Chaos: a real `dvorik worker` process SIGKILLed twice mid-broadcast, on MariaDB + Redis.

2,000 active customers; the fake Bot API (real HTTP, in this process) answers
5% of sends with 429 (retry after 1 s) and 2% with 500. The worker is killed
with SIGKILL twice while it sends and started again each time. Nothing is
fast-forwarded: the worker runs with short production timeouts set the way an
operator sets them (TASK_REDELIVER_AFTER_SECONDS, BROADCAST_LEASE_SECONDS), so
the restarted worker picks the dead one's task message up again (XAUTOCLAIM)
and settles its leases when they run out: rows it had only claimed go out
again, rows it had marked started are the ambiguous case (never resent).

Afterwards: every recipient has exactly one message at the fake, except
ambiguous rows, which got at most one and number no more than the rows marked
started at the kills; every row the ledger calls sent got exactly one; the
stats add up.

Needs MariaDB and Redis (db 13 unless TEST_CHAOS_REDIS_URL says otherwise):
skipped locally without them, failed under CI=true.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend import demo_data
from backend.domain import broadcasts, deliveries, shop_settings
from backend.domain.audit import Actor
from backend.domain.database import create_sessionmaker, run_in_transaction
from backend.domain.models import (
    BroadcastDelivery,
    BroadcastStatus,
    Customer,
    DeliveryStatus,
)
from backend.fake_telegram import FakeTelegram, create_app
from backend.workers.broker import QUEUE, TaskiqTaskQueue, create_broker
from tests.api import environment_for, serve_app
from tests.bots import CUSTOMER_TOKEN, bots_environment
from tests.databases import migrated_mariadb, redis_url, require_redis
from tests.ledger import count_deliveries
from tests.processes import DVORIK, spawn, terminate, wait_until

pytestmark = pytest.mark.mariadb

REDIS_URL = redis_url("TEST_CHAOS_REDIS_URL", 13)
RECIPIENTS = 2000
SEND_RATE = 1000  # the shop setting: the 429 pauses, not the pace, should bound the run
KILL_AFTER_SENT = (300, 900)  # SIGKILL the worker once this many rows are recorded sent
FINISH_WITHIN = 180.0  # seconds, from the last restart
LEASE_SECONDS = 4  # a dead worker's rows wait this long before they are settled
REDELIVER_SECONDS = 3  # a dead worker's task message waits this long before it runs again
ACTOR = Actor.system("chaos-test")

Sessions = async_sessionmaker[AsyncSession]
_D = BroadcastDelivery


@dataclass
class Chaos:
    """What happened at the kills, for the assertions and the printed report."""

    claimed_at_kills: list[int] = field(default_factory=list)
    started_at_kills: list[int] = field(default_factory=list)
    sent_at_kills: list[int] = field(default_factory=list)


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    async with migrated_mariadb(f"dvorik_chaos_{os.getpid()}") as engine:
        yield engine


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    await require_redis(REDIS_URL)
    client = Redis.from_url(REDIS_URL)
    await _forget_our_keys(client)
    yield client
    await _forget_our_keys(client)
    await client.aclose()


async def _forget_our_keys(client: Redis) -> None:
    keys = [QUEUE, *[key async for key in client.scan_iter("dvorik:send:*")]]
    await client.delete(*keys)


async def _start_broadcast(sessions: Sessions) -> int:
    async def work(session: AsyncSession) -> int:
        await shop_settings.set_value(session, "broadcast_send_rate_per_second", SEND_RATE, ACTOR)
        news = await broadcasts.create(
            session, title="Хаос", text="Привет, {first_name}!", actor=ACTOR
        )
        await broadcasts.send_now(session, news.id, actor=ACTOR, now=datetime.now(UTC))
        return news.id

    return await run_in_transaction(sessions, work)


async def _wait_for_sent(
    sessions: Sessions, broadcast_id: int, at_least: int, worker: subprocess.Popen[bytes], log: Path
) -> None:
    async def enough() -> bool:
        sent = await count_deliveries(sessions, broadcast_id, _D.status == DeliveryStatus.SENT)
        return sent >= at_least

    await wait_until(enough, f"{at_least} sent", seconds=60, watch=[(worker, log)])


async def _kill(
    sessions: Sessions, broadcast_id: int, worker: subprocess.Popen[bytes], chaos: Chaos
) -> None:
    """SIGKILL mid-broadcast; note what the dead worker left held."""
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    sent = await count_deliveries(sessions, broadcast_id, _D.status == DeliveryStatus.SENT)
    chaos.sent_at_kills.append(sent)
    for prefix, found in (
        (deliveries.CLAIMED, chaos.claimed_at_kills),
        (deliveries.STARTED, chaos.started_at_kills),
    ):
        held = _D.status == DeliveryStatus.PENDING, _D.last_error.startswith(prefix)
        found.append(await count_deliveries(sessions, broadcast_id, *held))


async def test_sigkilled_worker_twice_every_recipient_messaged_at_most_once(
    engine: AsyncEngine, redis: Redis, tmp_path: Path
) -> None:
    started = time.monotonic()
    sessions = create_sessionmaker(engine)
    await demo_data.add_subscribers(sessions, RECIPIENTS)
    broadcast_id = await _start_broadcast(sessions)
    fake = FakeTelegram()
    fake.fail_rate("429", 0.05, seed=20261125, retry_after=1)
    fake.fail_rate("500", 0.02, seed=11252026)
    chaos = Chaos()
    log = tmp_path / "worker.log"

    async def pending_messages() -> int:
        return int((await redis.xinfo_groups(QUEUE))[0]["pending"])

    async with serve_app(create_app(fake)) as fake_url:
        env = environment_for(
            engine,
            REDIS_URL=REDIS_URL,
            **bots_environment(fake_url),
            BROADCAST_LEASE_SECONDS=str(LEASE_SECONDS),
            TASK_REDELIVER_AFTER_SECONDS=str(REDELIVER_SECONDS),
        )
        api = TaskiqTaskQueue(create_broker(REDIS_URL, with_tasks=False))
        try:
            await api.enqueue("process_broadcast", broadcast_id=broadcast_id)
        finally:
            await api.close()

        worker = spawn([*DVORIK, "worker"], env, log)
        try:
            for at_least in KILL_AFTER_SENT:
                await _wait_for_sent(sessions, broadcast_id, at_least, worker, log)
                await _kill(sessions, broadcast_id, worker, chaos)
                worker = spawn([*DVORIK, "worker"], env, log)

            async def completed() -> bool:
                async with sessions() as session:
                    stats = await broadcasts.stats(session, broadcast_id)
                return stats.status is BroadcastStatus.COMPLETED

            await wait_until(
                completed, "completed", seconds=FINISH_WITHIN, watch=[(worker, log)], every=0.2
            )

            async def acked() -> bool:  # the last run acks its message once it has returned
                return await pending_messages() == 0

            await wait_until(acked, "the task message acked", seconds=30, watch=[(worker, log)])
        finally:
            terminate(worker)
        pending = await pending_messages()

    async with sessions() as session:
        stats = await broadcasts.stats(session, broadcast_id)
        ambiguous = await deliveries.count_ambiguous(session, broadcast_id)
        rows = (
            await session.execute(
                select(Customer.telegram_id, _D.status, _D.last_error)
                .join(Customer, Customer.id == _D.customer_id)
                .where(_D.broadcast_id == broadcast_id)
            )
        ).all()

    def messages(chat_id: int) -> int:
        return sum(
            1
            for sent in fake.messages_to(chat_id, token=CUSTOMER_TOKEN)
            if sent.method == "sendMessage"
        )

    received = {telegram_id: messages(telegram_id) for telegram_id, _, _ in rows}
    by_count = Counter(received.values())
    ambiguous_rows = [
        (telegram_id, error)
        for telegram_id, status, error in rows
        if status is DeliveryStatus.FAILED and (error or "").startswith(deliveries.AMBIGUOUS)
    ]
    ambiguous_unmessaged = sum(1 for telegram_id, _ in ambiguous_rows if not received[telegram_id])
    real_failures = Counter(
        error for _, status, error in rows if status is DeliveryStatus.FAILED
    ).most_common()
    print(
        f"\nchaos figures: {RECIPIENTS} recipients in {time.monotonic() - started:.1f} s; "
        f"sent at the kills {chaos.sent_at_kills}, held at the kills: claimed "
        f"{chaos.claimed_at_kills}, started {chaos.started_at_kills}; "
        f"stats sent={stats.sent} failed={stats.failed} blocked={stats.blocked} "
        f"pending={stats.pending} total={stats.total}; ambiguous={ambiguous} "
        f"(with 0 messages: {ambiguous_unmessaged}, with 1: "
        f"{len(ambiguous_rows) - ambiguous_unmessaged}); recipients by message count "
        f"{dict(sorted(by_count.items()))}; fake: {fake.stats()['error_counts']} errors, "
        f"{fake.faults_injected} faults; failures by reason {real_failures[:5]}"
    )

    assert stats.status is BroadcastStatus.COMPLETED
    assert stats.total == len(rows) == RECIPIENTS
    assert stats.pending == 0
    assert stats.sent + stats.failed + stats.blocked + stats.pending == stats.total
    assert ambiguous == len(ambiguous_rows) <= stats.failed
    # Nobody got the message twice, whatever happened.
    assert max(received.values()) <= 1, {k: v for k, v in received.items() if v > 1}
    # Every row the ledger calls sent got exactly one message.
    for telegram_id, state, _ in rows:
        if state is DeliveryStatus.SENT:
            assert received[telegram_id] == 1, telegram_id
    # Rows of unknown outcome come only from the kills: at most what was started then.
    assert ambiguous <= sum(chaos.started_at_kills)
    # Everyone else got exactly one message: rows only claimed by a dead worker went out.
    unmessaged = [telegram_id for telegram_id, count in received.items() if count == 0]
    assert len(unmessaged) == ambiguous_unmessaged, unmessaged[:20]
    # Non-ambiguous failed/blocked rows got nothing.
    unmessaged_settled = [
        telegram_id
        for telegram_id, status, error in rows
        if status is not DeliveryStatus.SENT
        and not (error or "").startswith(deliveries.AMBIGUOUS)
        and received[telegram_id]
    ]
    assert unmessaged_settled == []
    # Every message the fake recorded belongs to a row marked sent or ambiguous.
    assert sum(received.values()) == stats.sent + (len(ambiguous_rows) - ambiguous_unmessaged)
    assert pending == 0  # the last run acked its message
