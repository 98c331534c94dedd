"""A worker dying mid-send: the next run finishes the broadcast without duplicates.

Rows a dead worker only claimed go out once their lease runs out; rows it had
started (a request possibly at Telegram) are the documented ambiguous case,
never resent and counted. A live run keeps its leases however slow Telegram is.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from backend.domain import deliveries
from backend.domain.clock import utcnow
from backend.domain.deliveries import Claim
from backend.domain.models import BroadcastStatus, DeliveryStatus
from backend.fake_telegram import FakeTelegram
from backend.telegram.bot_api import BotApi
from backend.workers.sending import BroadcastOutcome, InMemorySendRateLimiter
from tests.broadcast_runs import (
    Audience,
    Sessions,
    arrange,
    assert_adds_up,
    rows,
    run,
    sends,
    stats,
    wait_for_sent,
)


async def claimed(sessions: Sessions, audience: Audience, count: int, *, by: str) -> list[Claim]:
    """A run starting on the broadcast: its audience resolved, `count` deliveries claimed
    on a one-second lease by worker `by`, which then does nothing more (dies, or is slow)."""
    async with sessions() as session, session.begin():
        await deliveries.resolve_audience(session, audience.broadcast_id, now=utcnow())
        return await deliveries.claim_batch(
            session,
            audience.broadcast_id,
            limit=count,
            worker_id=by,
            now=utcnow(),
            lease=timedelta(seconds=1),
        )


async def started(sessions: Sessions, claims: list[Claim]) -> set[int]:
    """The write-ahead mark a run commits just before it sends: the deliveries it may send."""
    async with sessions() as session, session.begin():
        return await deliveries.start_sending(session, claims)


async def test_a_cancelled_worker_is_resumed_without_duplicates(
    sessions: Sessions, fake: FakeTelegram, bot: BotApi
) -> None:
    audience = await arrange(sessions, 150)
    fake.slow(0.05)  # requests take time, so some are on the wire when the worker dies
    first = asyncio.create_task(
        run(sessions, bot, audience, limiter=InMemorySendRateLimiter(400), concurrency=30)
    )
    await wait_for_sent(fake, 40)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    dying_count = fake.sent_count
    fake.slow(0)

    # The dying worker settled its rows: nothing is left in flight for a lease to expire.
    left = await rows(sessions, audience.broadcast_id)
    assert not any((row.last_error or "").startswith(deliveries.IN_FLIGHT) for row in left.values())
    assert 40 <= dying_count < 150

    second = await run(sessions, bot, audience, worker_id="worker-2")
    assert second.completed
    by_customer = await rows(sessions, audience.broadcast_id)
    ambiguous = 0
    for customer in audience.members:
        row, got = by_customer[customer.id], len(sends(fake, customer))
        if row.status is DeliveryStatus.SENT:
            assert got == 1, (customer.id, row.attempts, row.last_error)
        else:  # a request cut off mid-flight: never resent, at most one message
            assert row.status is DeliveryStatus.FAILED
            assert (row.last_error or "").startswith(deliveries.AMBIGUOUS)
            assert got <= 1
            ambiguous += 1
    async with sessions() as session:
        assert await deliveries.count_ambiguous(session, audience.broadcast_id) == ambiguous
    assert ambiguous <= 30  # at most what was on the wire (the concurrency)
    found = await stats(sessions, audience.broadcast_id)
    assert found.status is BroadcastStatus.COMPLETED and found.pending == 0
    assert found.sent == 150 - ambiguous
    assert_adds_up(found)


async def test_a_killed_worker_s_started_rows_become_ambiguous_and_the_rest_go_out(
    sessions: Sessions, fake: FakeTelegram, bot: BotApi
) -> None:
    audience = await arrange(sessions, 30)
    claims = await claimed(sessions, audience, 10, by="doomed")
    # The doomed worker claimed ten, marked three started and got two of them out,
    # then was killed (no results recorded).
    assert await started(sessions, claims[:3]) == {claim.delivery_id for claim in claims[:3]}
    for claim in claims[:2]:
        await bot.send_message(claim.chat_id, claim.text)
    # The next worker sends the rest, then waits for the lease to run out:
    # the seven only claimed go out now, the three started are never resent.
    outcome = await run(sessions, bot, audience, worker_id="rescuer")

    assert outcome.completed and outcome.ambiguous == 3 and outcome.sent == 27
    assert outcome.elapsed >= 0.5
    by_customer = await rows(sessions, audience.broadcast_id)
    started_customers = {claim.customer_id for claim in claims[:3]}
    for customer in audience.members:
        got = len(sends(fake, customer))
        if customer.id in started_customers:
            row = by_customer[customer.id]
            assert row.status is DeliveryStatus.FAILED
            assert row.last_error == deliveries.AMBIGUOUS + deliveries.WORKER_LOST
            assert got <= 1
        else:
            assert got == 1, customer.id
    assert fake.sent_count == 29


async def test_a_live_run_keeps_its_leases_however_long_a_send_takes(
    sessions: Sessions, fake: FakeTelegram, bot: BotApi
) -> None:
    audience = await arrange(sessions, 12)
    fake.slow(1.5)  # every request outlives the 0.9 s lease
    lease = timedelta(seconds=0.9)

    async def second_run() -> BroadcastOutcome:
        # It arrives with nothing left to claim, and keeps expiring leases that
        # ran out while the first run is still sending.
        await asyncio.sleep(0.3)
        return await run(sessions, bot, audience, worker_id="worker-2", lease=lease)

    first, second = await asyncio.gather(run(sessions, bot, audience, lease=lease), second_run())
    assert first.sent == 12 and first.ambiguous == second.ambiguous == 0
    for customer in audience.members:
        assert len(sends(fake, customer)) == 1, customer.id
    found = await stats(sessions, audience.broadcast_id)
    assert found.status is BroadcastStatus.COMPLETED and found.sent == 12


async def test_a_lease_lost_to_another_run_is_not_started(sessions: Sessions) -> None:
    audience = await arrange(sessions, 4)
    slow = await claimed(sessions, audience, 4, by="slow")
    later = utcnow() + timedelta(seconds=2)
    async with sessions() as session, session.begin():
        expired = await deliveries.expire_leases(session, audience.broadcast_id, now=later)
        again = await deliveries.claim_batch(
            session,
            audience.broadcast_id,
            limit=2,
            worker_id="fast",
            now=later,
            lease=timedelta(minutes=1),
        )
    assert (expired.released, expired.ambiguous, len(again)) == (4, 0, 2)
    assert await started(sessions, slow) == set()  # its leases are gone: it must not send
    assert await started(sessions, again) == {claim.delivery_id for claim in again}
