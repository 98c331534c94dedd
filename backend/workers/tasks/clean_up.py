"""Housekeeping: rows kept only for a while, dropped once their time is over.

* Telegram updates seen (`telegram_updates`): kept `KEEP` (2 days) to skip an
  update Telegram delivers again; every update adds one, so nothing else
  would ever remove them.
* Sign-in attempts past their window and revocations past their token's
  expiry (`sign_in.forget_expired`): every sign-in already drops a batch of
  them; this also clears them when nobody signs in for a while.
* Task runs of the task monitor (`task_runs.forget_old`) queued more than
  `TASK_RUNS_KEEP_DAYS` ago: every task sent adds one.

Scheduled hourly (`backend.workers.schedule`); plain DELETEs of what is old,
so a second run at once (two schedulers) finds nothing more to drop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import sign_in, task_runs, telegram_updates
from backend.domain.clock import utcnow
from backend.domain.database import run_in_transaction
from backend.runtime import Runtime
from backend.workers.tasks.state import WorkerRuntime

SIGN_IN_BATCHES = 100  # at most this many `forget_expired` batches (of 100 + 100) per run
RUN_BATCHES = 100  # at most this many `task_runs.forget_old` batches (of 1,000) per run


async def forget_old_records_job(runtime: Runtime, *, now: datetime) -> dict[str, int]:
    """Drop what is past its keeping time; returns how many rows, by kind."""
    updates = await run_in_transaction(
        runtime.sessions, lambda session: telegram_updates.forget_old(session, now=now)
    )
    sign_ins = await _in_batches(
        runtime, lambda session: sign_in.forget_expired(session, now=now), SIGN_IN_BATCHES
    )
    keep = timedelta(days=runtime.settings.task_runs_keep_days)
    runs = await _in_batches(
        runtime, lambda session: task_runs.forget_old(session, now=now, keep=keep), RUN_BATCHES
    )
    return {"telegram_updates": updates, "sign_in": sign_ins, "task_runs": runs}


async def _in_batches(
    runtime: Runtime, forget: Callable[[AsyncSession], Awaitable[int]], batches: int
) -> int:
    """`forget` until it drops nothing (at most `batches` times), each a short transaction:
    sign-ins and task runs go on being written meanwhile."""
    total = 0
    for _ in range(batches):
        dropped = await run_in_transaction(runtime.sessions, forget)
        total += dropped
        if not dropped:
            break
    return total


async def forget_old_records(runtime: WorkerRuntime, now: datetime | None = None) -> dict[str, int]:
    """Every hour: old Telegram updates, stale sign-in attempts and revocations, task runs."""
    return await forget_old_records_job(runtime, now=now or utcnow())
