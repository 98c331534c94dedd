"""Housekeeping: rows kept only for a while, dropped once their time is over.

* Telegram updates seen (`telegram_updates`): kept `KEEP` (2 days) to skip an
  update Telegram delivers again; every update adds one, so nothing else
  would ever remove them.
* Sign-in attempts past their window and revocations past their token's
  expiry (`sign_in.forget_expired`): every sign-in already drops a batch of
  them; this also clears them when nobody signs in for a while.

Scheduled hourly (`backend.workers.schedule`); plain DELETEs of what is old,
so a second run at once (two schedulers) finds nothing more to drop.
"""

from __future__ import annotations

from datetime import datetime

from backend.domain import sign_in, telegram_updates
from backend.domain.clock import utcnow
from backend.domain.database import run_in_transaction
from backend.runtime import Runtime
from backend.workers.tasks.state import WorkerRuntime

SIGN_IN_BATCHES = 100  # at most this many `forget_expired` batches (of 100 + 100) per run


async def forget_old_records_job(runtime: Runtime, *, now: datetime) -> dict[str, int]:
    """Drop what is past its keeping time; returns how many rows, by kind."""
    updates = await run_in_transaction(
        runtime.sessions, lambda session: telegram_updates.forget_old(session, now=now)
    )
    sign_ins = 0
    for _ in range(SIGN_IN_BATCHES):  # short transactions: sign-ins go on meanwhile
        dropped = await run_in_transaction(
            runtime.sessions, lambda session: sign_in.forget_expired(session, now=now)
        )
        sign_ins += dropped
        if not dropped:
            break
    return {"telegram_updates": updates, "sign_in": sign_ins}


async def forget_old_records(runtime: WorkerRuntime, now: datetime | None = None) -> dict[str, int]:
    """Every hour: old Telegram updates, stale sign-in attempts and revocations."""
    return await forget_old_records_job(runtime, now=now or utcnow())
