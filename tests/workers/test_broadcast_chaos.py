"""Chaos: a real `dvorik worker` process SIGKILLed mid-broadcast, on MariaDB or PostgreSQL + Redis.

1,000 active customers; the fake Bot API (real HTTP, in this process) answers
5% of sends with 429 (retry after 1 s) and 2% with 500. The worker is killed
with SIGKILL twice while it sends and started again at once each time. Nothing
is fast-forwarded and nothing is tuned: the workers run with the production
defaults (BROADCAST_LEASE_SECONDS, TASK_REDELIVER_AFTER_SECONDS), so what
brings the broadcast back is what would in production: the dead run's
heartbeat falls silent, the restarted worker's sweep queues the broadcast
again and sends; the dead run's leases run out meanwhile, rows it had only
claimed go out again, rows it had marked started are the in-doubt case
(never resent).

Measured and asserted: from each kill to the next message Telegram receives
takes at most `RECOVER_WITHIN` (30 s); every recipient has exactly one
message at the fake, except in-doubt ("ambiguous") rows, which got at most
one; the in-doubt rows are exactly among the rows the killed worker had
marked started at the kill (a row is marked only as its request leaves, and
a refused one is turned back at once), so never a row only claimed or
waiting for its moment; every row the ledger calls sent got exactly one; the
stats add up. How many rows were in doubt per kill, and how many of those
never reached Telegram, is printed (see docs/reliability.md).

A second test watches the broadcast over the GraphQL subscription while its
only worker is killed: within seconds it says no worker is alive (and shows
no rate), then, with a worker started again, alive and completed.

Runs on MariaDB and on PostgreSQL. Needs them and Redis (db 13 unless
TEST_CHAOS_REDIS_URL says otherwise): skipped locally without them, failed under CI=true.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend import demo_data
from backend.domain import broadcasts, deliveries, shop_settings
from backend.domain.audit import Actor
from backend.domain.database import create_sessionmaker, run_in_transaction
from backend.domain.models import (
    AdminRole,
    Broadcast,
    BroadcastDelivery,
    BroadcastStatus,
    Customer,
    DeliveryStatus,
)
from backend.fake_telegram import FakeTelegram, create_app
from backend.task_queue import QUEUE, TaskiqTaskQueue, create_broker
from tests.api import environment_for, serve, serve_app, settings_for, signed_in
from tests.conftest import SERVER_DATABASES
from tests.databases import migrated_database, redis_url, require_redis
from tests.graphql.test_graphql_subscriptions import Socket, socket
from tests.ledger import count_deliveries
from tests.processes import DVORIK, spawn, terminate, wait_until
from tests.telegram_world import CUSTOMER_TOKEN, bots_environment

pytestmark = [pytest.mark.slow]

REDIS_URL = redis_url("TEST_CHAOS_REDIS_URL", 13)
RECIPIENTS = 1000
SEND_RATE = 1000  # the shop setting: the 429 pauses, not the pace, should bound the run
KILL_AFTER_SENT = (200, 500)  # SIGKILL the worker once this many rows are recorded sent
FINISH_WITHIN = 180.0  # seconds, from the last restart
# Issue 12's target: a killed worker's broadcast sends again within this, with the
# production defaults (measured here: about 10-15 s, see the printed figures).
RECOVER_WITHIN = 30.0
# Requests already on their way when the worker was killed reach the fake within
# this; a message arriving later comes from the run that took over.
IN_FLIGHT_LANDS_WITHIN = 1.0
ACTOR = Actor.system("chaos-test")
# The subscription test: a small broadcast at 20/s, its only worker killed after
# KILLED_AFTER sent. "No worker" is due within broadcasts.RUN_SILENCE (10 s) of the
# dead run's last heartbeat (2 s before the kill at most) plus one quiet check (2.5 s).
WATCHED_RECIPIENTS = 100
WATCHED_RATE = 20
KILLED_AFTER = 30
NO_WORKER_WITHIN = 25.0
WATCH = """
subscription Watch($id: Int!) {
  broadcastProgress(id: $id) { status total sent failed blocked pending workerAlive rate eta }
}
"""
SEND_NOW = "mutation($id: Int!) { sendBroadcastNow(id: $id) { status } }"

Sessions = async_sessionmaker[AsyncSession]
_D = BroadcastDelivery


@dataclass
class Chaos:
    """What happened at the kills, for the assertions and the printed report."""

    killed_at: list[float] = field(default_factory=list)  # wall clock, as the fake's times
    heartbeat_age: list[float] = field(default_factory=list)  # seconds, at each kill
    claimed_at_kills: list[int] = field(default_factory=list)
    started_at_kills: list[set[int]] = field(default_factory=list)  # rows this kill left started
    sent_at_kills: list[int] = field(default_factory=list)

    def recoveries(self, arrivals: list[float]) -> list[float]:
        """Seconds from each kill to the first message the fake received from a live run."""
        found = []
        for killed in self.killed_at:
            later = [at for at in arrivals if at > killed + IN_FLIGHT_LANDS_WITHIN]
            found.append(min(later) - killed if later else float("inf"))
        return found


@pytest.fixture(params=SERVER_DATABASES)
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    """A fresh database on MariaDB, then on PostgreSQL."""
    async with migrated_database(request.param, f"dvorik_chaos_{os.getpid()}") as engine:
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
    """SIGKILL mid-broadcast; note what the dead worker left held.

    Rows an earlier kill left started may still wait for their lease to run
    out: they are that kill's, not this one's.
    """
    chaos.killed_at.append(time.time())
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    sent = await count_deliveries(sessions, broadcast_id, _D.status == DeliveryStatus.SENT)
    chaos.sent_at_kills.append(sent)
    async with sessions() as session:
        seen_at = await session.scalar(
            select(Broadcast.worker_seen_at).where(Broadcast.id == broadcast_id)
        )
        held = dict(
            (
                await session.execute(
                    select(_D.id, _D.last_error).where(
                        _D.broadcast_id == broadcast_id,
                        _D.status == DeliveryStatus.PENDING,
                        _D.last_error.startswith(deliveries.IN_FLIGHT[0])
                        | _D.last_error.startswith(deliveries.IN_FLIGHT[1]),
                    )
                )
            ).all()
        )
    assert seen_at is not None
    chaos.heartbeat_age.append(chaos.killed_at[-1] - seen_at.timestamp())
    earlier = set().union(*chaos.started_at_kills)
    started = {row for row, marker in held.items() if (marker or "").startswith(deliveries.STARTED)}
    chaos.started_at_kills.append(started - earlier)
    chaos.claimed_at_kills.append(len(held) - len(started))


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
        # The production defaults of the lease and redelivery times: no override.
        env = environment_for(engine, REDIS_URL=REDIS_URL, **bots_environment(fake_url))
        api = TaskiqTaskQueue(create_broker(REDIS_URL))
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

            # The dead workers' messages come back once idle for the redelivery time
            # (30 s), find the broadcast completed and are acknowledged.
            await wait_until(acked, "the task messages acked", seconds=60, watch=[(worker, log)])
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
        ambiguous_ids = set(
            await session.scalars(
                select(_D.id).where(
                    _D.broadcast_id == broadcast_id,
                    _D.status == DeliveryStatus.FAILED,
                    _D.last_error.startswith(deliveries.AMBIGUOUS),
                )
            )
        )

    def messages(chat_id: int) -> int:
        return sum(
            1
            for sent in fake.messages_to(chat_id, token=CUSTOMER_TOKEN)
            if sent.method == "sendMessage"
        )

    received = {telegram_id: messages(telegram_id) for telegram_id, _, _ in rows}
    arrivals = sorted(
        sent.time
        for telegram_id, _, _ in rows
        for sent in fake.messages_to(telegram_id, token=CUSTOMER_TOKEN)
        if sent.method == "sendMessage"
    )
    recoveries = chaos.recoveries(arrivals)
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
        f"from each kill to the next message at Telegram "
        f"{[round(seconds, 1) for seconds in recoveries]} s; "
        f"heartbeat age at the kills {[round(age, 1) for age in chaos.heartbeat_age]} s; "
        f"sent at the kills {chaos.sent_at_kills}, held at the kills: claimed "
        f"{chaos.claimed_at_kills}, started {[len(ids) for ids in chaos.started_at_kills]}; "
        f"stats sent={stats.sent} failed={stats.failed} blocked={stats.blocked} "
        f"pending={stats.pending} total={stats.total}; ambiguous={ambiguous} "
        f"(with 0 messages: {ambiguous_unmessaged}, with 1: "
        f"{len(ambiguous_rows) - ambiguous_unmessaged}); recipients by message count "
        f"{dict(sorted(by_count.items()))}; fake: {fake.stats()['error_counts']} errors, "
        f"{fake.faults_injected} faults; failures by reason {real_failures[:5]}"
    )

    # A killed worker's broadcast sends again within 30 s (issue 12: 149 s, then 87 s more).
    assert max(recoveries) <= RECOVER_WITHIN, recoveries
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
    # The bound: rows of unknown outcome are only rows a killed worker had marked started
    # (its requests on their way, or answered and not yet recorded), never one it had
    # only claimed or that waited for its moment (those went out again).
    assert ambiguous_ids <= set().union(*chaos.started_at_kills), ambiguous_rows
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


@dataclass(frozen=True)
class Seen:
    """A progress snapshot the viewer received, and when (monotonic)."""

    at: float
    progress: dict[str, Any]


async def _watch(ws: Socket, seen: list[Seen]) -> None:
    """Every snapshot until `complete`; the channel may be quiet for seconds, so no timeout."""
    while True:
        message: dict[str, Any] = json.loads(await ws.connection.recv())
        if message["type"] == "ping":
            await ws.send({"type": "pong"})
            continue
        if message["type"] == "complete":
            return
        assert message["type"] == "next" and "errors" not in message["payload"], message
        seen.append(Seen(time.monotonic(), message["payload"]["data"]["broadcastProgress"]))


async def test_progress_says_no_worker_while_none_sends_and_alive_again_once_one_does(
    engine: AsyncEngine, redis: Redis, tmp_path: Path
) -> None:
    """Issue 12: after a kill the subscription showed the dead worker's rate and ETA for minutes."""
    sessions = create_sessionmaker(engine)
    await demo_data.add_subscribers(sessions, WATCHED_RECIPIENTS)

    async def draft(session: AsyncSession) -> int:
        await shop_settings.set_value(
            session, "broadcast_send_rate_per_second", WATCHED_RATE, ACTOR
        )
        news = await broadcasts.create(session, title="Смотрим", text="Привет!", actor=ACTOR)
        return news.id

    broadcast_id = await run_in_transaction(sessions, draft)
    marketer = await signed_in(sessions, AdminRole.MARKETING)
    fake = FakeTelegram()
    log = tmp_path / "worker.log"
    seen: list[Seen] = []

    async def sent_enough() -> bool:
        sent = await count_deliveries(sessions, broadcast_id, _D.status == DeliveryStatus.SENT)
        return sent >= KILLED_AFTER

    def no_worker_since(moment: float) -> list[Seen]:
        return [s for s in seen if s.at > moment and not s.progress["workerAlive"]]

    async with (
        serve_app(create_app(fake)) as fake_url,
        serve(settings_for(engine, redis_url=REDIS_URL)) as api,
    ):
        # A short lease only so the test ends soon after the restart; not what is measured.
        env = environment_for(
            engine, REDIS_URL=REDIS_URL, BROADCAST_LEASE_SECONDS="5", **bots_environment(fake_url)
        )
        worker = spawn([*DVORIK, "worker"], env, log)
        try:
            async with socket(api, marketer) as ws:
                await ws.send(
                    {
                        "id": "1",
                        "type": "subscribe",
                        "payload": {"query": WATCH, "variables": {"id": broadcast_id}},
                    }
                )
                watching = asyncio.create_task(_watch(ws, seen))
                headers = {"Authorization": f"Bearer {marketer}"}
                async with httpx.AsyncClient(base_url=api.url, headers=headers) as http:
                    answer = await http.post(
                        "/graphql", json={"query": SEND_NOW, "variables": {"id": broadcast_id}}
                    )
                assert answer.json()["data"]["sendBroadcastNow"]["status"] == "SENDING", answer.text
                await wait_until(
                    sent_enough, f"{KILLED_AFTER} sent", seconds=60, watch=[(worker, log)]
                )

                os.kill(worker.pid, signal.SIGKILL)
                killed = time.monotonic()
                worker.wait(timeout=10)

                async def says_no_worker() -> bool:
                    return bool(no_worker_since(killed))

                await wait_until(
                    says_no_worker, "the viewer told no worker is alive", seconds=NO_WORKER_WITHIN
                )
                restarted = time.monotonic()
                worker = spawn([*DVORIK, "worker"], env, log)
                await asyncio.wait_for(watching, 120)
        finally:
            terminate(worker)

    async with sessions() as session:
        stats = await broadcasts.stats(session, broadcast_id)
        ambiguous = await deliveries.count_ambiguous(session, broadcast_id)
    before = [s.progress for s in seen if s.at < killed]
    told = no_worker_since(killed)[0]
    while_dead = [s.progress for s in seen if told.at <= s.at < restarted]
    again = [s.progress for s in seen if s.at > restarted]
    print(
        f"\nsubscription figures: {len(seen)} snapshots; 'no worker' shown "
        f"{told.at - killed:.1f} s after the kill: {told.progress}; "
        f"{len(while_dead)} snapshots while no worker ran; after the restart: "
        f"{[(p['status'], p['sent'], p['workerAlive']) for p in again][:3]} ... {again[-1]}; "
        f"ambiguous {ambiguous}"
    )

    # While the worker lived: a live worker, and its rate.
    assert any(p["workerAlive"] and p["rate"] is not None for p in before), before[-3:]
    # Once it died: still sending, but no worker, and no rate or time to go pretended.
    assert told.progress["status"] == "SENDING" and told.progress["pending"] > 0
    assert (told.progress["rate"], told.progress["eta"]) == (None, None)
    assert all(not p["workerAlive"] and p["rate"] is None for p in while_dead)
    # With a worker again: alive, then completed (every message snapshot of the rows).
    assert any(p["workerAlive"] and p["status"] == "SENDING" for p in again), again[:3]
    final = again[-1]
    assert final["status"] == "COMPLETED" and not final["workerAlive"] and final["rate"] is None
    assert stats.status is BroadcastStatus.COMPLETED
    assert (final["sent"], final["failed"], final["pending"]) == (stats.sent, stats.failed, 0)
    assert stats.sent + ambiguous == WATCHED_RECIPIENTS
    assert stats.sent <= fake.sent_count <= stats.sent + ambiguous  # in doubt: one at most
