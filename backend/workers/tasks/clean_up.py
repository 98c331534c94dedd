"""Housekeeping: what grows with traffic is dropped once its keeping time is over.

Everything here is written on every update, sign-in or task, and nothing else
would ever remove it (docs/operations.md, "Storage and retention", lists
every table and Redis key and what bounds each):

* Telegram updates seen (`telegram_updates`): kept `TELEGRAM_UPDATES_KEEP_HOURS`
  (48) to skip an update Telegram delivers again (it retries for a day).
* Sign-in attempts past their window and revocations past their token's
  expiry (`sign_in.forget_expired`): every sign-in already drops a batch of
  them; this also clears them when nobody signs in for a while.
* Login links past their expiry (`admin_login_tokens`): dead once expired.
* Finished bulk jobs (`bulk_jobs`, the results of background bulk actions):
  kept `BULK_JOBS_KEEP_DAYS` (30) for the admin's job list.
* The Redis task stream: acknowledged messages older than
  `TASK_STREAM_KEEP_HOURS` (24) and consumers of workers long gone; never a
  message still waiting or running (`backend.task_queue.stream_trim`).
* Task runs of the task monitor (`task_runs.forget_old`) queued more than
  `TASK_RUNS_KEEP_DAYS` ago: every task sent adds one.

Deliveries, discounts, notices, customers and audit entries are business
records and stay. Rows go in short transactions of a batch each, so the
shop's own writes go on meanwhile. Scheduled hourly (`backend.workers.schedule`);
plain DELETEs of what is old and a trim below what is still needed, so a
second run at once (two schedulers) finds nothing more to drop. A step that
fails does not stop the others; the task fails afterwards, so it is seen.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated

from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import Context, TaskiqDepends

from backend.domain import admins, jobs, sign_in, task_runs, telegram_updates
from backend.domain.clock import utcnow
from backend.domain.database import run_in_transaction
from backend.runtime import Runtime
from backend.task_queue import trim_stream
from backend.workers.tasks.state import WorkerRuntime

log = logging.getLogger("dvorik.clean_up")

MAX_BATCHES = 1000  # per kind and run: a backlog beyond it waits for the next hour

Batch = Callable[[AsyncSession], Awaitable[int]]


async def forget_old_records_job(
    runtime: Runtime, *, now: datetime, broker: object = None
) -> dict[str, int]:
    """Drop what is past its keeping time; returns how many rows or messages, by kind.

    `broker` is the one the task came from: its stream is trimmed (none when
    it is not a Redis stream).
    """
    settings = runtime.settings
    updates_before = now - timedelta(hours=settings.telegram_updates_keep_hours)
    jobs_before = now - timedelta(days=settings.bulk_jobs_keep_days)
    runs_kept = timedelta(days=settings.task_runs_keep_days)
    steps: dict[str, Batch] = {
        "telegram_updates": lambda s: telegram_updates.forget_old(s, before=updates_before),
        "sign_in": lambda s: sign_in.forget_expired(s, now=now),
        "login_links": lambda s: admins.forget_expired_login_tokens(s, now=now),
        "bulk_jobs": lambda s: jobs.forget_finished(s, before=jobs_before),
        "task_runs": lambda s: task_runs.forget_old(s, now=now, keep=runs_kept),
    }
    counts: dict[str, int] = {}
    failed: list[BaseException] = []
    for kind, batch in steps.items():
        try:
            counts[kind] = await _in_batches(runtime, batch)
        except Exception as error:  # the other kinds still go
            log.exception("clean-up of %s failed", kind)
            failed.append(error)
    try:
        keep = timedelta(hours=settings.task_stream_keep_hours)
        trimmed = await trim_stream(broker, now=now, keep=keep)
        counts["task_stream_messages"] = trimmed.messages
        counts["task_stream_consumers"] = trimmed.consumers
    except Exception as error:
        log.exception("clean-up of the task stream failed")
        failed.append(error)
    log.info("clean-up dropped %s", counts)
    if failed:
        raise failed[0]
    return counts


async def _in_batches(runtime: Runtime, batch: Batch) -> int:
    """Run `batch` in a transaction of its own until it drops nothing more."""
    total = 0
    for _ in range(MAX_BATCHES):
        dropped = await run_in_transaction(runtime.sessions, batch)
        total += dropped
        if not dropped:
            break
    return total


async def forget_old_records(
    runtime: WorkerRuntime,
    context: Annotated[Context, TaskiqDepends()],
    now: datetime | None = None,
) -> dict[str, int]:
    """Every hour: update ids, sign-in rows, login links, bulk jobs, task runs, stream messages."""
    return await forget_old_records_job(runtime, now=now or utcnow(), broker=context.broker)
