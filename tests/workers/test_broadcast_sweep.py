"""Broadcasts nobody sends: the heartbeat of a run and the sweep that resumes a silent one.

A live worker keeps its run's message fresh, so a long broadcast is not taken
over; a dead worker's run falls silent and any live worker resumes it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain import broadcasts
from backend.domain.clock import utcnow
from backend.domain.models import Broadcast
from backend.fake_telegram import FakeTelegram
from backend.runtime import Runtime
from backend.task_queue import CONSUMER_GROUP
from backend.workers.tasks import BroadcastRuns, resume_orphaned_broadcasts_job
from tests.conftest import DATABASES
from tests.databases import migrated_engine
from tests.factories import make_customer
from tests.in_process_worker import (
    ACTOR,
    a_slow_broadcast,
    api_queue,
    broadcast_completed,
    enqueued,
    eventually,
    own_queue_name,
    pending_is,
    running_with_telegram,
    worker_on_redis,
)
from tests.task_queues import RecordingTaskQueue


@pytest.fixture(scope="module", params=DATABASES)
async def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AsyncEngine]:
    """A database of this module's own. The session's served Dvorik (the `server` fixture)
    sweeps the shared one in its embedded worker, and once resumed these tests' silent
    broadcasts before their own sweeps did (seen under `-n 2`, a test timing out)."""
    async for engine in migrated_engine(request, tmp_path_factory, "dvorik_sweep"):
        yield engine


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
    async with running_with_telegram(engine, fake) as runtime:
        runtime.tasks = RecordingTaskQueue()
        async with worker_on_redis(runtime, own_queue_name(), "sweeper"):
            killed = await sending_broadcast(
                sessions, changed_ago=timedelta(seconds=20), heard_ago=timedelta(seconds=1)
            )
            started = asyncio.get_running_loop().time()

            async def resumed() -> bool:
                return {"broadcast_id": killed} in enqueued(runtime, "process_broadcast")

            # Silent for 10 s from its last beat (1 s ago), then a sweep at most 5 s later:
            # 14 s at most on a quiet machine; room for one twice as slow and busy.
            await eventually(resumed, within=30)
            waited = asyncio.get_running_loop().time() - started
    assert 8 <= waited <= 30, waited


async def test_a_long_task_is_not_taken_over_while_its_worker_lives(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], redis: Redis
) -> None:
    """The redelivery time is short (a dead worker's task runs again soon), yet a broadcast
    that outlives it many times over stays with its live worker: it keeps its message fresh.

    Another worker's reclaim (XAUTOCLAIM of what has been idle for the redelivery
    time) is tried every 0.1 s all along and never gets the message.
    """
    fake = FakeTelegram()
    queue_name = own_queue_name()
    redeliver_after_ms = 1500
    taken_over: list[Any] = []

    async def another_worker() -> None:
        while True:
            await asyncio.sleep(0.1)
            with contextlib.suppress(ResponseError):  # before the group exists
                claimed: Any = await redis.xautoclaim(
                    queue_name, CONSUMER_GROUP, "w2", min_idle_time=redeliver_after_ms
                )
                taken_over.extend(claimed[1])

    async with running_with_telegram(engine, fake) as runtime, api_queue(queue_name) as api:
        people, made = await a_slow_broadcast(sessions, 20, per_second=3)
        await api.enqueue("process_broadcast", broadcast_id=made)
        # 20 messages at 3/s take about 7 s, over four times the redelivery time.
        async with worker_on_redis(
            runtime, queue_name, "w1", redeliver_after_ms=redeliver_after_ms
        ):
            reclaiming = asyncio.create_task(another_worker())
            try:
                await eventually(partial(broadcast_completed, sessions, made), within=40)
                await eventually(partial(pending_is, redis, queue_name, 0))
            finally:
                reclaiming.cancel()
    assert taken_over == []
    assert [len(fake.messages_to(person.telegram_id)) for person in people] == [1] * 20
