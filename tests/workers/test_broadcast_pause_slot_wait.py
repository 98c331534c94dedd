"""A pause cuts short the deliveries waiting for their send slot.

At a low rate a run holds rows whose slots are seconds away; a marketer's
pause must not wait for them: each hands its row back unsent at once (the
wait runs in the delivery's own task, which the run's stop cancels).
"""

from __future__ import annotations

import asyncio
import time

from backend.domain import broadcasts
from backend.domain.models import BroadcastStatus
from backend.fake_telegram import FakeTelegram
from backend.telegram.bot_api import BotApi
from backend.workers.sending import InMemorySendRateLimiter
from tests.broadcast_runs import ACTOR, Sessions, arrange, run, stats, wait_for_sent
from tests.timing import LoopLag

RATE = 3  # messages a second: the rows held wait up to ~2 s for their slots


async def test_a_pause_releases_rows_waiting_for_their_slot_at_once(
    sessions: Sessions, fake: FakeTelegram, bot: BotApi
) -> None:
    audience = await arrange(sessions, 30)
    async with LoopLag() as lag:
        task = asyncio.create_task(
            run(sessions, bot, audience, limiter=InMemorySendRateLimiter(RATE))
        )
        await wait_for_sent(fake, 3)
        async with sessions() as session, session.begin():
            await broadcasts.pause(session, audience.broadcast_id, actor=ACTOR)
        paused_at = time.monotonic()
        outcome = await task
        stopped_after = time.monotonic() - paused_at
    # The status is read every 0.25 s; the held rows' slots were up to 2 s away.
    assert stopped_after < 1.0 + lag.margin, (stopped_after, lag.worst)
    assert outcome.status is BroadcastStatus.PAUSED
    assert outcome.released > 0
    found = await stats(sessions, audience.broadcast_id)
    assert found.sent == fake.sent_count and found.pending == 30 - found.sent
