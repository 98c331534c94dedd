"""A broadcast reaches exactly its segment, once each, through faults; how it ends.

The engine against the fake Bot API, through the workers' Bot API client over HTTP:
names and codes are each recipient's own, 429/5xx answers are retried, 403
and 400 settle a delivery, and a broadcast nobody could receive ends FAILED.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from backend.domain import deliveries
from backend.domain.models import (
    AuditEntry,
    Broadcast,
    BroadcastStatus,
    Customer,
    CustomerStatus,
    DeliveryStatus,
    Discount,
)
from backend.fake_telegram import FakeTelegram
from backend.pubsub import InProcessPubSub, broadcast_channel
from backend.telegram.bot_api import BotApi
from tests.broadcast_runs import Sessions, arrange, assert_adds_up, rows, run, sends, stats


async def test_reaches_exactly_the_segment_with_own_names_and_codes(
    sessions: Sessions, fake: FakeTelegram, bot: BotApi
) -> None:
    audience = await arrange(sessions, 200, inactive=15, outsiders=15)
    pubsub = InProcessPubSub(max_pending=10_000)
    progress: list[dict[str, Any]] = []

    async def listen() -> None:
        async with pubsub.subscribe(broadcast_channel(audience.broadcast_id)) as messages:
            async for message in messages:
                progress.append(message)
                if message["status"] == "completed":
                    return

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0)
    outcome = await run(sessions, bot, audience, pubsub=pubsub)
    await asyncio.wait_for(listener, 5)

    assert outcome.completed and outcome.status is BroadcastStatus.COMPLETED
    assert (outcome.total, outcome.sent, outcome.failed, outcome.ambiguous) == (200, 200, 0, 0)
    async with sessions() as session:
        codes = {
            d.customer_id: d
            for d in await session.scalars(
                select(Discount).where(
                    Discount.once_key == deliveries.promo_once_key(audience.broadcast_id)
                )
            )
        }
    assert len(codes) == 200
    for customer in audience.members:
        [message] = sends(fake, customer)
        discount = codes[customer.id]
        assert discount.percent == 15 and discount.broadcast_id == audience.broadcast_id
        assert message.text is not None
        assert message.text.startswith(f"Привет, {customer.first_name}! Ваш код {discount.code}")
    assert all(not fake.messages_to(other.telegram_id) for other in audience.others)
    assert fake.sent_count == 200

    found = await stats(sessions, audience.broadcast_id)
    assert (found.status, found.total, found.sent, found.pending) == (
        BroadcastStatus.COMPLETED,
        200,
        200,
        0,
    )
    assert_adds_up(found)
    assert progress and progress[-1]["status"] == "completed" and progress[-1]["sent"] == 200
    sent_counts = [message["sent"] for message in progress]
    assert sent_counts == sorted(sent_counts)
    # A second run (a redelivered task) finds nothing to do and sends nothing.
    again = await run(sessions, bot, audience, worker_id="worker-2")
    assert (again.sent, again.completed, fake.sent_count) == (0, False, 200)


async def test_faults_still_deliver_exactly_once(
    sessions: Sessions, fake: FakeTelegram, bot: BotApi
) -> None:
    audience = await arrange(sessions, 100)
    blocker, lost = audience.members[10], audience.members[20]
    fake.fail_rate("429", 0.05, seed=7)
    fake.fail_rate("500", 0.02, seed=8)
    fake.fail_chat(blocker.telegram_id, "403")
    fake.fail_chat(lost.telegram_id, "400")

    outcome = await run(sessions, bot, audience)

    assert fake.error_counts[429] > 0 and fake.error_counts[500] > 0
    assert outcome.completed
    assert (outcome.sent, outcome.blocked, outcome.failed, outcome.ambiguous) == (98, 1, 1, 0)
    for customer in audience.members:
        assert len(sends(fake, customer)) == (0 if customer in (blocker, lost) else 1)
    by_customer = await rows(sessions, audience.broadcast_id)
    assert by_customer[blocker.id].status is DeliveryStatus.BLOCKED
    assert by_customer[lost.id].status is DeliveryStatus.FAILED
    assert by_customer[lost.id].last_error == "Bad Request: chat not found"
    async with sessions() as session:
        refreshed = await session.get(Customer, blocker.id)
        assert refreshed is not None and refreshed.status is CustomerStatus.BLOCKED
    found = await stats(sessions, audience.broadcast_id)
    assert (found.sent, found.blocked, found.failed, found.pending) == (98, 1, 1, 0)
    assert_adds_up(found)


async def test_a_broadcast_nobody_could_receive_ends_failed_not_completed(
    sessions: Sessions, fake: FakeTelegram, bot: BotApi
) -> None:
    """Issue 12: every delivery refused (here 403 and 400) and the broadcast said COMPLETED."""
    audience = await arrange(sessions, 6)
    for index, customer in enumerate(audience.members):
        fake.fail_chat(customer.telegram_id, "403" if index % 2 else "400")
    pubsub = InProcessPubSub()
    last: list[dict[str, Any]] = []

    async def listen() -> None:
        async with pubsub.subscribe(broadcast_channel(audience.broadcast_id)) as messages:
            async for message in messages:
                last[:] = [message]

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0)
    outcome = await run(sessions, bot, audience, pubsub=pubsub)
    await asyncio.sleep(0)
    listener.cancel()

    assert outcome.completed and outcome.status is BroadcastStatus.FAILED
    assert (outcome.sent, outcome.blocked, outcome.failed) == (0, 3, 3)
    found = await stats(sessions, audience.broadcast_id)
    assert (found.status, found.sent, found.blocked, found.failed, found.pending) == (
        BroadcastStatus.FAILED,
        0,
        3,
        3,
        0,
    )
    assert last[0]["status"] == "failed" and last[0]["rate"] is None
    async with sessions() as session:
        ended = await session.get(Broadcast, audience.broadcast_id)
        assert ended is not None and ended.finished_at is not None
        actions = list(
            await session.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.entity_type == "broadcast",
                    AuditEntry.entity_id == str(audience.broadcast_id),
                )
            )
        )
    assert "broadcast.fail" in actions and "broadcast.complete" not in actions
    assert fake.sent_count == 0


async def test_one_message_delivered_is_enough_to_complete(
    sessions: Sessions, fake: FakeTelegram, bot: BotApi
) -> None:
    audience = await arrange(sessions, 4)
    for customer in audience.members[1:]:
        fake.fail_chat(customer.telegram_id, "400")

    outcome = await run(sessions, bot, audience)

    assert outcome.status is BroadcastStatus.COMPLETED and (outcome.sent, outcome.failed) == (1, 3)
