"""What a running broadcast reports: delivery counts, its worker's heartbeat, what is due.

Stats count deliveries by status; a worker is alive while its heartbeat is
fresh and never for a paused broadcast; the scheduler finds the broadcasts
whose time has come.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import broadcasts
from backend.domain.errors import NotFound
from backend.domain.models import Broadcast, BroadcastDelivery, DeliveryStatus
from tests.broadcast_states import NOW, Status, make_broadcast, make_marketer
from tests.factories import make_customer


async def test_stats_count_deliveries_by_status(session: AsyncSession) -> None:
    marketer = await make_marketer(session)
    busy = await make_broadcast(session, marketer, Status.SENDING)
    fresh = await make_broadcast(session, marketer, Status.DRAFT)
    done = await make_broadcast(session, marketer, Status.COMPLETED)
    people = [await make_customer(session) for _ in range(7)]
    outcomes = [DeliveryStatus.SENT] * 2 + [DeliveryStatus.FAILED, DeliveryStatus.BLOCKED]
    outcomes += [DeliveryStatus.PENDING] * 3
    for customer, outcome in zip(people, outcomes, strict=True):
        session.add(
            BroadcastDelivery(broadcast_id=busy.id, customer_id=customer.id, status=outcome)
        )
    for customer in people[:2]:
        session.add(
            BroadcastDelivery(
                broadcast_id=done.id, customer_id=customer.id, status=DeliveryStatus.SENT
            )
        )
    await session.commit()

    busy_stats = broadcasts.BroadcastStats(
        status=Status.SENDING, total=7, sent=2, failed=1, blocked=1, pending=3
    )
    assert await broadcasts.stats(session, busy.id) == busy_stats
    assert await broadcasts.stats(session, fresh.id) == broadcasts.BroadcastStats(Status.DRAFT)
    with pytest.raises(NotFound):
        await broadcasts.stats(session, 999_999)

    assert await broadcasts.stats_many(session, [done.id, busy.id, 999_999, fresh.id, busy.id]) == {
        busy.id: busy_stats,
        fresh.id: broadcasts.BroadcastStats(Status.DRAFT),
        done.id: broadcasts.BroadcastStats(Status.COMPLETED, total=2, sent=2),
    }
    assert await broadcasts.stats_many(session, []) == {}


async def test_a_worker_is_alive_only_while_its_heartbeat_is_fresh_and_never_when_paused(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    marketer = await make_marketer(session)
    busy = await make_broadcast(session, marketer, Status.SENDING)
    paused = await make_broadcast(session, marketer, Status.PAUSED)
    await session.commit()
    changed = (
        await stored_updated_at(sessions, busy.id),
        await stored_updated_at(sessions, paused.id),
    )

    assert await broadcasts.record_heartbeat(session, busy.id, now=NOW)
    assert not await broadcasts.record_heartbeat(session, paused.id, now=NOW)  # nobody sends it
    await session.commit()

    found = await broadcasts.stats_many(session, [busy.id, paused.id])
    await session.commit()
    assert found[busy.id].worker_seen_at == NOW and found[paused.id].worker_seen_at is None
    # The heartbeat is not a change: `updated_at` stays what the last change made it.
    assert changed == (
        await stored_updated_at(sessions, busy.id),
        await stored_updated_at(sessions, paused.id),
    )
    silent_for = broadcasts.RUN_SILENCE + timedelta(seconds=1)
    alive = broadcasts.progress_message(busy.id, found[busy.id], now=NOW, rate=12.5, eta=4.0)
    dead = broadcasts.progress_message(
        busy.id, found[busy.id], now=NOW + silent_for, rate=12.5, eta=4.0
    )
    assert (alive["worker_alive"], alive["rate"], alive["eta"]) == (True, 12.5, 4.0)
    assert (dead["worker_alive"], dead["rate"], dead["eta"]) == (False, None, None)
    stopped = broadcasts.progress_message(paused.id, found[paused.id], now=NOW, rate=3.0)
    assert (stopped["worker_alive"], stopped["rate"]) == (False, None)


async def stored_updated_at(sessions: async_sessionmaker[AsyncSession], broadcast_id: int) -> Any:
    async with sessions() as fresh:
        return await fresh.scalar(select(Broadcast.updated_at).where(Broadcast.id == broadcast_id))


async def test_the_scheduler_finds_the_broadcasts_whose_time_has_come(
    session: AsyncSession,
) -> None:
    marketer = await make_marketer(session)
    earlier = NOW - timedelta(days=1)

    async def scheduled_at(at: datetime) -> Broadcast:
        broadcast = await make_broadcast(session, marketer)
        return await broadcasts.schedule(session, broadcast.id, at, actor=marketer, now=earlier)

    on_time = await scheduled_at(NOW)
    overdue = await scheduled_at(NOW - timedelta(hours=2))
    await scheduled_at(NOW + timedelta(seconds=1))
    already_sent = await scheduled_at(NOW - timedelta(hours=3))
    await broadcasts.send_now(session, already_sent.id, actor=marketer, now=earlier)
    called_off = await scheduled_at(NOW - timedelta(hours=4))
    await broadcasts.cancel(session, called_off.id, actor=marketer, now=earlier)
    await make_broadcast(session, marketer)
    await session.commit()

    due = await broadcasts.due_for_sending(session, now=NOW)

    assert [broadcast.id for broadcast in due] == [overdue.id, on_time.id]
    assert await broadcasts.due_for_sending(session, now=NOW - timedelta(days=2)) == []
