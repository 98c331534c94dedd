"""What `/metrics` reads just before it answers: the state no process keeps in memory.

* the task queue's depth (Redis, `backend.observability.queue_depth`);
* whether the database and Redis answer, as `/ready` checks them
  (`dvorik_dependency_up`);
* how many broadcasts are sending, the longest any of them has been silent,
  and the send rate that applies (the database, `backend.observability.readings`).

Each read is bounded (`READ_TIMEOUT`), and none can fail the scrape: a dependency
that does not answer is 0, a figure that could not be read is left out
rather than shown stale. Every API process reports the same shared figures;
the dashboard and the alerts take their `max` or `min`.
"""

from __future__ import annotations

import asyncio
import logging

from backend.app.health import redis_state
from backend.domain import broadcasts, shop_settings
from backend.domain.clock import utcnow
from backend.domain.database import database_state
from backend.observability.metrics import record_dependency
from backend.observability.queue_depth import READ_TIMEOUT, refresh_queue_depth
from backend.observability.readings import (
    BROADCAST_SILENCE,
    BROADCASTS_SENDING,
    READINGS,
    SEND_RATE_LIMIT,
)
from backend.runtime import Runtime

log = logging.getLogger("dvorik.metrics")


async def refresh_readings(runtime: Runtime) -> None:
    """Read everything `/metrics` shows of the shared state, side by side."""
    await asyncio.gather(
        refresh_queue_depth(runtime.tasks),
        refresh_dependencies(runtime),
        refresh_broadcasts(runtime),
    )


async def refresh_dependencies(runtime: Runtime) -> None:
    """Up or down as `/ready` judges them; Redis's series only where there is a Redis."""
    try:
        async with asyncio.timeout(READ_TIMEOUT):
            database = await database_state(runtime.engine)
    except TimeoutError:
        database = "unavailable: TimeoutError"
    record_dependency("database", database == "ok")
    redis = await redis_state(runtime)  # bounded by its own timeout
    record_dependency("redis", None if redis == "embedded" else redis == "ok")


async def refresh_broadcasts(runtime: Runtime) -> None:
    override = runtime.settings.broadcast_rate_override
    try:
        async with asyncio.timeout(READ_TIMEOUT), runtime.read_sessions() as session:
            now = await broadcasts.sending_now(session, now=utcnow())
            rate = override or await shop_settings.get_int(
                session, "broadcast_send_rate_per_second"
            )
    except Exception as error:  # reported, not raised: a scrape must still answer
        log.warning("could not read the broadcasts' state: %s", type(error).__name__)
        READINGS.forget(BROADCASTS_SENDING, BROADCAST_SILENCE, SEND_RATE_LIMIT)
        return
    READINGS.set(BROADCASTS_SENDING, now.broadcasts)
    READINGS.set(BROADCAST_SILENCE, now.longest_silence.total_seconds())
    READINGS.set(SEND_RATE_LIMIT, rate)
