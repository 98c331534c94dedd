"""Broadcast tasks: start the scheduled ones, run the sending engine, resume the orphaned.

* `start_due_broadcasts` (every minute): scheduled broadcasts whose time has
  come start and queue their engine;
* `process_broadcast`: the engine (`backend.workers.sending`) for one
  broadcast; a stopping worker lets requests on the wire finish, settles the
  rest and hands the broadcast back to the queue;
* `sweep_forever` (every `SWEEP_EVERY` seconds in each worker process, and in
  the embedded server) runs `resume_orphaned_broadcasts_job`: a "sending"
  broadcast no live run works on (a killed worker's, whose heartbeat stopped;
  one whose message was lost with a Redis restarted empty or never queued) is
  queued again within seconds. `BroadcastRuns` keeps this process's runs and
  lets one sweep of many resume a broadcast at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import broadcasts
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.errors import DomainError, InvalidState
from backend.domain.models import BroadcastStatus
from backend.domain.tasks import enqueue_after_commit
from backend.redis_roles import RedisRole, role_url
from backend.runtime import Runtime
from backend.task_queue import after_commit
from backend.workers import sending
from backend.workers.sending import BroadcastOutcome, SendRateLimiter
from backend.workers.tasks.broadcast_runs import BroadcastRuns
from backend.workers.tasks.state import Runs, SendLimiter, Stopping, WorkerId, WorkerRuntime

log = logging.getLogger("dvorik.tasks")

OWN_RUN_POLL = 0.5  # seconds between looks at a run of the same broadcast in this process
DRAIN_SECONDS = 5.0  # a stopping worker's engine gets this long to wind down by itself
# Each worker looks this often for "sending" broadcasts whose run fell silent: with
# broadcasts.RUN_SILENCE (10 s) a killed worker's broadcast is queued again 10-15 s
# after the kill, and sends again as soon as a worker reads the message.
SWEEP_EVERY = 5.0
# A broadcast sent, resumed or handed back this recently, with no run heard of since,
# may still wait in the queue for a busy worker: it is queued again only after this.
ORPHAN_GRACE = timedelta(seconds=30)


async def start_due_broadcasts_job(runtime: Runtime, *, now: datetime) -> list[int]:
    """Start every scheduled broadcast whose time has come; returns the ids this run started.

    `send_now` locks the row and checks the state, so of two concurrent runs
    (two schedulers, or a redelivered message) only one starts a broadcast and
    queues its engine; the other gets InvalidState and moves on.
    """
    async with runtime.sessions() as session:
        due = [broadcast.id for broadcast in await broadcasts.due_for_sending(session, now=now)]
    started: list[int] = []
    actor = Actor.system("scheduler")
    for broadcast_id in due:

        async def start(session: AsyncSession, broadcast_id: int = broadcast_id) -> None:
            await broadcasts.send_now(session, broadcast_id, actor=actor, now=now)
            enqueue_after_commit(session, "process_broadcast", broadcast_id=broadcast_id)

        try:
            await after_commit.run_in_transaction(runtime.sessions, runtime.tasks, start)
        except InvalidState:
            continue  # started (or cancelled) by someone else meanwhile
        except DomainError as error:
            log.warning("scheduled broadcast %s cannot start: %s", broadcast_id, error)
            continue
        started.append(broadcast_id)
    return started


async def resume_orphaned_broadcasts_job(
    runtime: Runtime, runs: BroadcastRuns, *, grace: timedelta = ORPHAN_GRACE
) -> list[int]:
    """Queue the engine again for every "sending" broadcast no live run works on.

    A broadcast can be left "sending" with no run: its worker was killed (its
    heartbeat stops: queued again once it has been silent for
    `broadcasts.RUN_SILENCE`), its enqueue failed (Redis down after the
    commit), its message was lost with a Redis that restarted empty, or the
    embedded server restarted. One changed less than `grace` ago with no run
    heard of since may still wait in the queue, so it is left alone until a
    later sweep (`broadcasts.orphaned`). A second run is harmless (the engine
    leases each delivery to one run), so a sweep that misjudges costs only work.
    """
    now = utcnow()  # heartbeats and `updated_at` are written with the real clock
    async with runtime.sessions() as session:
        candidates = await broadcasts.orphaned(session, now=now, grace=grace)
    resumed: list[int] = []
    for orphan in candidates:
        broadcast_id = orphan.broadcast_id
        if runs.running_here(broadcast_id) or not await runs.may_resume(orphan):
            continue
        log.warning("broadcast %s is sending but no live worker sends it: resuming", broadcast_id)
        await runtime.tasks.enqueue("process_broadcast", broadcast_id=broadcast_id)
        resumed.append(broadcast_id)
    return resumed


async def sweep_forever(
    runtime: Runtime, runs: BroadcastRuns, stop: asyncio.Event, *, every: float = SWEEP_EVERY
) -> None:
    """`resume_orphaned_broadcasts_job` now and every `every` seconds until `stop` is set.

    Every worker process runs it (`run_worker`), and so does the embedded
    server: a killed worker's broadcast is found by any live one, with no
    scheduler needed. A failed sweep (database or Redis down) is logged and
    tried again at the next. Without bots nothing could send a broadcast
    (`broadcast_job`), so a process without them does not sweep.
    """
    if runtime.customer_api is None:
        log.info("bots are not configured: no sweep for broadcasts nobody sends")
        return
    while not stop.is_set():
        try:
            await resume_orphaned_broadcasts_job(runtime, runs)
        except Exception as error:
            log.warning("could not look for broadcasts nobody sends: %r", error)
        with contextlib.suppress(TimeoutError):  # not wait_for: it can drop a cancel on 3.11
            async with asyncio.timeout(every):
                await stop.wait()


async def broadcast_job(
    runtime: Runtime,
    broadcast_id: int,
    *,
    limiter: SendRateLimiter,
    worker: str,
    stop: asyncio.Event | None = None,
) -> BroadcastOutcome | None:
    """Run the sending engine for one broadcast until it is done, paused or cancelled.

    The engine is resumable and safe to run twice at once (its delivery ledger
    leases each row to one run), which a redelivered message may do.
    """
    if runtime.customer_api is None:
        log.warning("bots are not configured: broadcast %s waits in 'sending'", broadcast_id)
        return None
    return await sending.process_broadcast(
        runtime.sessions,
        runtime.customer_api,
        runtime.pubsub,
        limiter,
        broadcast_id,
        worker_id=f"{worker}:{uuid.uuid4().hex[:8]}",  # one lease holder per run
        zone=runtime.settings.zone,
        lease=timedelta(seconds=runtime.settings.broadcast_lease_seconds),
        stop=stop,
    )


async def hand_back(runtime: Runtime, broadcast_id: int) -> None:
    """Queue a broadcast this stopping worker leaves unfinished, for the next worker.

    Embedded (no Redis) the process is going away with its queue: the sweep
    resumes the broadcast when the server starts again. With Redis, a hand-back
    that cannot be queued is left to the sweep of any live worker.
    """
    if not role_url(runtime.settings, RedisRole.QUEUE):
        return
    try:
        await runtime.tasks.enqueue("process_broadcast", broadcast_id=broadcast_id)
    except Exception as error:  # Redis down too: a live worker's sweep resumes it later
        log.warning("could not hand broadcast %s back: %r", broadcast_id, error)
        return
    log.warning("worker stopping: broadcast %s handed back to the queue", broadcast_id)


# --- the tasks ---------------------------------------------------------------------------------


async def process_broadcast(
    runtime: WorkerRuntime,
    limiter: SendLimiter,
    worker: WorkerId,
    runs: Runs,
    stop: Stopping,
    broadcast_id: int,
) -> BroadcastOutcome | None:
    """Run the engine; if this process is told to stop first, hand the broadcast back.

    On stop the engine stops as on a pause: sends waiting for a slot put their
    rows back to pending, requests already on their way finish and are
    recorded. If that takes longer than `DRAIN_SECONDS` the engine is
    cancelled (a request still unanswered is then recorded as ambiguous,
    never resent). The broadcast is queued again so another worker carries
    on at once instead of after the redelivery timeout.
    """
    # A run outliving TASK_REDELIVER_AFTER_SECONDS gets its own message back (the
    # broker takes it for a dead worker's): wait for that run instead of racing it.
    while runs.running_here(broadcast_id):
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(OWN_RUN_POLL):
                await stop.wait()
            return None  # stopping: the run here hands the broadcast back
    async with runs.running(broadcast_id):
        if stop.is_set():
            await hand_back(runtime, broadcast_id)
            return None
        run = asyncio.create_task(
            broadcast_job(runtime, broadcast_id, limiter=limiter, worker=worker, stop=stop)
        )
        await _until_done_or_drained(run, stop)
        if run.cancelled():
            await hand_back(runtime, broadcast_id)
            return None
        outcome = run.result()
        if outcome is not None and outcome.status is BroadcastStatus.SENDING:
            await hand_back(runtime, broadcast_id)  # stopped early: the rest is for another
        return outcome


async def _until_done_or_drained(run: asyncio.Task[Any], stop: asyncio.Event) -> None:
    """Wait for `run`; once `stop` is set give it `DRAIN_SECONDS`, then cancel it.

    A cancel of this very task goes on up after `run` is cancelled too (never
    swallowed): `asyncio.wait` waits for a task without raising what ended it.
    """
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({run, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not run.done():
            await asyncio.wait({run}, timeout=DRAIN_SECONDS)
    finally:
        stopped.cancel()
        if not run.done():
            run.cancel()
            await asyncio.wait({run})


async def start_due_broadcasts(runtime: WorkerRuntime, now: datetime | None = None) -> list[int]:
    """Every minute: start scheduled broadcasts that are due (orphans: `sweep_forever`)."""
    return await start_due_broadcasts_job(runtime, now=now or utcnow())
