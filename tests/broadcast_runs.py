"""A broadcast to a tagged audience, run by the engine against the fake Bot API.

Shared by the broadcast engine's tests (tests/workers/test_broadcast_*.py):
every recipient gets exactly one message however the run is disturbed, with
the one documented exception (a request in flight when a worker died), which
is never resent and is counted. The fake and the workers' Bot API client on
it are fixtures in tests/workers/conftest.py.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import broadcasts, segments
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.models import BroadcastDelivery, Customer, CustomerStatus, Tag
from backend.fake_telegram import FakeTelegram, SentMessage
from backend.pubsub import InProcessPubSub
from backend.telegram.bot_api import BotApi
from backend.workers.sending import (
    BroadcastOutcome,
    InMemorySendRateLimiter,
    RedisSendRateLimiter,
    SendRateLimiter,
    process_broadcast,
)
from tests.databases import redis_url, require_redis
from tests.factories import next_telegram_id

TOKEN = "765432:" + "E" * 35
REDIS_URL = redis_url("TEST_REDIS_URL", 15)
TEXT = "Привет, {first_name}! Ваш код {code}: скидка {percent}% до {expires_on}"
ACTOR = Actor.system("test")

Sessions = async_sessionmaker[AsyncSession]


async def redis_limiter(rate: float) -> RedisSendRateLimiter:
    await require_redis(REDIS_URL)
    return RedisSendRateLimiter(REDIS_URL, rate, prefix=f"test-send:{uuid.uuid4().hex}")


@dataclass
class Audience:
    broadcast_id: int
    members: list[Customer]
    others: list[Customer]  # in the database but not to be messaged


async def arrange(
    sessions: Sessions, members: int, *, inactive: int = 0, outsiders: int = 0
) -> Audience:
    """`members` active customers tagged "sweet", others who must not get the message."""
    async with sessions() as session, session.begin():
        sweet = Tag(name="sweet")
        session.add(sweet)
        now = utcnow()

        def customer(i: int, status: CustomerStatus, tags: list[Tag]) -> Customer:
            return Customer(
                telegram_id=next_telegram_id(),
                first_name=f"Имя{i}",
                last_name="Тестова",
                status=status,
                subscribed_at=now,
                last_seen_at=now,
                tags=tags,
            )

        chosen = [customer(i, CustomerStatus.ACTIVE, [sweet]) for i in range(members)]
        others = [customer(i, CustomerStatus.UNSUBSCRIBED, [sweet]) for i in range(inactive)]
        others += [customer(i, CustomerStatus.ACTIVE, []) for i in range(outsiders)]
        session.add_all(chosen + others)
        segment = await segments.create(session, "Сладкоежки", {"tags_any": ["sweet"]}, actor=ACTOR)
        broadcast = await broadcasts.create(
            session,
            title="Новинки",
            text=TEXT,
            segment_id=segment.id,
            promo_percent=15,
            actor=ACTOR,
        )
        await broadcasts.send_now(session, broadcast.id, actor=ACTOR, now=now)
    return Audience(broadcast.id, chosen, others)


async def run(
    sessions: Sessions,
    bot: BotApi,
    audience: Audience,
    *,
    limiter: SendRateLimiter | None = None,
    pubsub: InProcessPubSub | None = None,
    worker_id: str = "worker-1",
    **options: Any,
) -> BroadcastOutcome:
    return await process_broadcast(
        sessions,
        bot,
        pubsub or InProcessPubSub(),
        limiter or InMemorySendRateLimiter(1000),
        audience.broadcast_id,
        worker_id=worker_id,
        **options,
    )


def sends(fake: FakeTelegram, customer: Customer) -> list[SentMessage]:
    return [m for m in fake.messages_to(customer.telegram_id) if m.method == "sendMessage"]


async def rows(sessions: Sessions, broadcast_id: int) -> dict[int, BroadcastDelivery]:
    async with sessions() as session:
        found = await session.scalars(
            select(BroadcastDelivery).where(BroadcastDelivery.broadcast_id == broadcast_id)
        )
        return {row.customer_id: row for row in found}


async def stats(sessions: Sessions, broadcast_id: int) -> broadcasts.BroadcastStats:
    async with sessions() as session:
        return await broadcasts.stats(session, broadcast_id)


def assert_adds_up(found: broadcasts.BroadcastStats) -> None:
    assert found.total == found.sent + found.failed + found.blocked + found.pending


async def wait_for_sent(fake: FakeTelegram, count: int, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while fake.sent_count < count:
        assert time.monotonic() < deadline, f"only {fake.sent_count} of {count} sent"
        await asyncio.sleep(0.01)
