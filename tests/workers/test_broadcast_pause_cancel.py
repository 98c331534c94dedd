"""A marketer pauses or cancels a running broadcast: it stops within a second.

A paused broadcast resumes where it stopped; a cancelled one never sends the rest.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import broadcasts
from backend.domain.clock import utcnow
from backend.domain.models import BroadcastStatus
from backend.fake_telegram import FakeTelegram
from backend.telegram.bot_api import BotApi
from backend.workers.sending import BroadcastOutcome, InMemorySendRateLimiter
from tests.broadcast_runs import (
    ACTOR,
    Audience,
    Sessions,
    arrange,
    run,
    sends,
    stats,
    wait_for_sent,
)
from tests.timing import LoopLag

Press = Callable[[AsyncSession, int], Awaitable[object]]


async def pressed_mid_run(
    sessions: Sessions, fake: FakeTelegram, bot: BotApi, audience: Audience, press: Press
) -> tuple[BroadcastOutcome, float, float, LoopLag]:
    """A run at 60/s; once 20 messages are out the marketer presses `press` (pause,
    cancel). What the run came to, the seconds it took to stop after the press, the
    press's wall-clock time, and how late this event loop ran meanwhile."""
    async with LoopLag() as lag:
        limiter = InMemorySendRateLimiter(60)
        task = asyncio.create_task(run(sessions, bot, audience, limiter=limiter))
        await wait_for_sent(fake, 20)
        async with sessions() as session, session.begin():
            await press(session, audience.broadcast_id)
        pressed_at, pressed_wall = time.monotonic(), time.time()
        outcome = await task
        stopped_after = time.monotonic() - pressed_at
    return outcome, stopped_after, pressed_wall, lag


async def test_pause_stops_within_a_second_and_resume_finishes(
    sessions: Sessions, fake: FakeTelegram, bot: BotApi
) -> None:
    audience = await arrange(sessions, 120)

    async def pause(session: AsyncSession, broadcast_id: int) -> object:
        return await broadcasts.pause(session, broadcast_id, actor=ACTOR)

    outcome, stopped_after, paused_wall, lag = await pressed_mid_run(
        sessions, fake, bot, audience, pause
    )
    # About a second (the status is read every 0.25 s, requests on the wire finish),
    # and what this loop was held up meanwhile. Sending the rest would take 1.7 s.
    assert stopped_after < 1.2 + lag.margin, (stopped_after, lag.worst)
    assert outcome.status is BroadcastStatus.PAUSED and not outcome.completed
    latest = max(m.time for c in audience.members for m in sends(fake, c))
    assert latest < paused_wall + 1.0 + lag.margin, (latest - paused_wall, lag.worst)
    found = await stats(sessions, audience.broadcast_id)
    assert found.status is BroadcastStatus.PAUSED and found.pending > 0
    assert found.sent == fake.sent_count

    async with sessions() as session, session.begin():
        await broadcasts.resume(session, audience.broadcast_id, actor=ACTOR)
    resumed = await run(sessions, bot, audience, worker_id="worker-2")
    assert resumed.completed
    assert all(len(sends(fake, customer)) == 1 for customer in audience.members)
    assert outcome.sent + resumed.sent == 120


async def test_cancel_stops_within_a_second_and_never_sends_the_rest(
    sessions: Sessions, fake: FakeTelegram, bot: BotApi
) -> None:
    audience = await arrange(sessions, 120)

    async def cancel(session: AsyncSession, broadcast_id: int) -> object:
        return await broadcasts.cancel(session, broadcast_id, actor=ACTOR, now=utcnow())

    outcome, stopped_after, _, lag = await pressed_mid_run(sessions, fake, bot, audience, cancel)
    assert stopped_after < 1.2 + lag.margin, (stopped_after, lag.worst)  # as a pause
    assert outcome.status is BroadcastStatus.CANCELLED
    sent_then = fake.sent_count
    again = await run(sessions, bot, audience, worker_id="worker-2")
    assert again.sent == 0 and fake.sent_count == sent_then < 120
    found = await stats(sessions, audience.broadcast_id)
    assert found.status is BroadcastStatus.CANCELLED
    assert (found.sent, found.pending) == (sent_then, 120 - sent_then)
    assert all(len(sends(fake, customer)) <= 1 for customer in audience.members)
