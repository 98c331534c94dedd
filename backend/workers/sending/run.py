"""One run of the engine over one broadcast: claim, dispatch, record, until nothing is left.

`process_broadcast` is what the task worker runs; the run keeps about two
ticks of sending claimed, hands each claim to a delivery (`delivery`), and
on its way out, however it ends, settles what it still holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import deliveries, shop_settings
from backend.domain.clock import utcnow
from backend.domain.database import run_in_transaction
from backend.domain.deliveries import Claim
from backend.domain.models import BroadcastStatus
from backend.observability.metrics import record_broadcast_outcome
from backend.pubsub import PubSub
from backend.telegram.bot_api import BotApi
from backend.workers.sending.context import RunContext
from backend.workers.sending.delivery import Courier
from backend.workers.sending.pace import SendRateLimiter
from backend.workers.sending.progress import Progress
from backend.workers.sending.recording import Recorder
from backend.workers.sending.stopping import cancel_and_wait
from backend.workers.sending.upkeep import (
    beat,
    heartbeat,
    read_status,
    renew_leases,
    stop_when,
    watch_status,
)

TICK = 0.2  # seconds of sending claimed at a time
WAIT_FOR_OTHERS = 0.5  # seconds between looks when other workers hold the last rows
# How long a dead run's rows wait before another run settles them; a live run renews
# its leases every third of this, so the lease is short however long a send waits.
DEFAULT_LEASE = timedelta(seconds=20)

log = logging.getLogger("dvorik.sending")


@dataclass(frozen=True)
class BroadcastOutcome:
    """How one `process_broadcast` run ended; the counts are this run's own."""

    broadcast_id: int
    status: BroadcastStatus  # the broadcast's status when the run ended
    completed: bool  # this run ended the broadcast (status completed, or failed: nothing sent)
    total: int  # delivery rows of the broadcast
    sent: int
    blocked: int
    failed: int
    ambiguous: int  # outcome unknown, not resent (incl. rows of dead workers settled here)
    released: int  # claimed but handed back unsent (the run stopped)
    elapsed: float  # seconds

    @property
    def rate(self) -> float:
        """Deliveries settled per second by this run."""
        done = self.sent + self.blocked + self.failed + self.ambiguous
        return done / self.elapsed if self.elapsed > 0 else 0.0


async def process_broadcast(
    sessions: async_sessionmaker[AsyncSession],
    api: BotApi,
    pubsub: PubSub,
    limiter: SendRateLimiter,
    broadcast_id: int,
    *,
    worker_id: str,
    batch_size: int = 64,
    concurrency: int = 160,
    lease: timedelta = DEFAULT_LEASE,
    max_tries: int = 5,
    zone: tzinfo = UTC,
    clock: Callable[[], datetime] = utcnow,
    stop: asyncio.Event | None = None,
) -> BroadcastOutcome:
    """Send a "sending" broadcast until it is done, paused, cancelled or `stop` is set.

    `worker_id` names this worker in the leases (for people reading the
    table); `lease` is how long a dead run's rows wait before they are
    settled (a live run renews its own). `concurrency` bounds requests in
    flight, so it should be at least rate × Telegram's latency. `stop` (a
    worker shutting down) ends the run the way a pause does: sends waiting
    for a slot are released, requests on the wire finish and are recorded.
    Safe to call again after any crash.
    """
    if batch_size < 1 or concurrency < 1 or max_tries < 1:
        raise ValueError("batch_size, concurrency and max_tries must be positive")
    context = RunContext(sessions, broadcast_id, worker_id, lease, zone, clock)
    run = Run(
        context,
        api,
        pubsub,
        limiter,
        batch_size=batch_size,
        concurrency=concurrency,
        max_tries=max_tries,
    )
    return await run.go(stop)


class Run:
    def __init__(
        self,
        context: RunContext,
        api: BotApi,
        pubsub: PubSub,
        limiter: SendRateLimiter,
        *,
        batch_size: int,
        concurrency: int,
        max_tries: int,
    ) -> None:
        self.context = context
        self.limiter = limiter
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.recorder = Recorder(context)
        self.courier = Courier(context, api, limiter, self.recorder, max_tries=max_tries)
        self.progress = Progress(context, pubsub)
        self.tasks: set[asyncio.Task[None]] = set()
        self.claiming: asyncio.Future[list[Claim]] | None = None
        self.total = 0

    async def go(self, stop: asyncio.Event | None = None) -> BroadcastOutcome:
        started = time.monotonic()
        await self._begin()
        helpers = self._start_helpers(stop)
        try:
            completed = await self._loop()
        except BaseException:
            await asyncio.shield(self._abandon())
            raise
        finally:
            await cancel_and_wait(*helpers)
        # Counted from the delivery rows now that this run's last results are in:
        # a pause shows every message that went out, with no rate (nobody sends).
        await self.progress.publish(force=True, final=True)
        counts = self.recorder.counts
        return BroadcastOutcome(
            broadcast_id=self.context.broadcast_id,
            status=self.context.status,
            completed=completed,
            total=self.total,
            sent=counts["sent"],
            blocked=counts["blocked"],
            failed=counts["failed"],
            ambiguous=counts["ambiguous"],
            released=counts["released"],
            elapsed=time.monotonic() - started,
        )

    async def _begin(self) -> None:
        """Fix the audience and the rate, say the run lives, settle what dead runs left."""
        context = self.context
        self.total = await context.tx(
            lambda s: deliveries.resolve_audience(s, context.broadcast_id, now=context.clock())
        )
        if not self.limiter.pinned:
            self.limiter.rate = float(
                await context.tx(
                    lambda s: shop_settings.get_int(s, "broadcast_send_rate_per_second")
                )
            )
        await heartbeat(context)
        await self._expire_leases()

    def _start_helpers(self, stop: asyncio.Event | None) -> list[asyncio.Task[None]]:
        context = self.context
        helpers = [
            asyncio.create_task(watch_status(context)),
            asyncio.create_task(self.recorder.flush_often()),
            asyncio.create_task(renew_leases(context, self.recorder)),
            asyncio.create_task(beat(context)),
        ]
        if stop is not None:
            helpers.append(asyncio.create_task(stop_when(stop, context)))
        return helpers

    # the main loop: claim, dispatch, record

    async def _loop(self) -> bool:
        """Keep about two ticks of sending claimed; each delivery books its own slot.

        Claims are made once half a claim's worth of rows is free, not a
        quarter: a claim is a transaction of four statements, and fewer,
        larger ones cost less CPU per message. `concurrency` (160) keeps more
        rows held than the bot's connection pool (100) has requests on the
        wire, so the wire stays busy between claims.
        """
        assert self.limiter.rate is not None
        per_claim = max(1, min(self.batch_size, math.ceil(self.limiter.rate * TICK)))
        held = min(self.concurrency, 2 * per_claim + 4)
        while True:
            await self.recorder.flush()
            await self.progress.publish()
            if self.courier.fatal is not None:
                raise self.courier.fatal
            if self.context.stop.is_set():
                await self._drain()
                return False
            free = held - len(self.tasks)
            if free < max(1, min(per_claim, held) // 2):
                await self._wait_tasks(0.05)
                continue
            claims = await self._claim(min(free, per_claim))
            if claims:
                for claim in claims:
                    self.recorder.hold(claim)
                    self._spawn(self.courier.deliver(claim))
                continue
            if self.tasks:
                await self._wait_tasks(0.1)
                continue
            if await self._finish_or_wait():
                return True

    async def _finish_or_wait(self) -> bool:
        """Nothing to claim and nothing in flight here: done, stopped, or others still busy."""
        context = self.context
        await self.recorder.settle()
        await self._expire_leases()
        now = context.clock()
        final = await context.tx(
            lambda s: deliveries.finish_if_done(s, context.broadcast_id, now=now)
        )
        if final is not None:
            context.status = final
            return True
        status = await read_status(context)
        if status is not BroadcastStatus.SENDING:
            context.halt(status)
        else:  # another worker holds the last rows in flight: their results or leases end it
            await context.stop.sleep(WAIT_FOR_OTHERS)
        return False

    async def _claim(self, limit: int) -> list[Claim]:
        context = self.context
        now = context.clock()
        self.claiming = asyncio.ensure_future(
            run_in_transaction(
                context.sessions,
                lambda s: deliveries.claim_batch(
                    s,
                    context.broadcast_id,
                    limit=limit,
                    worker_id=context.worker_id,
                    now=now,
                    lease=context.lease,
                    zone=context.zone,
                ),
            )
        )
        claims = await asyncio.shield(self.claiming)
        self.claiming = None
        return claims

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _wait_tasks(self, seconds: float) -> None:
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        else:
            await self.context.stop.sleep(seconds)

    async def _drain(self) -> None:
        """Stopping: deliveries waiting for a slot hand their rows back, requests finish."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
        await self.recorder.settle()

    async def _abandon(self) -> None:
        """Cancelled or crashed: settle what this worker knows before it goes."""
        self.context.stop.set()
        for task in list(self.tasks):
            task.cancel()
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
        recorder = self.recorder
        for claim in list(recorder.unsettled.values()):  # tasks cancelled before they ever ran
            recorder.settle_cancelled(claim)
        if self.claiming is not None:  # a claim committed while we were being cancelled
            with contextlib.suppress(Exception):
                for claim in await self.claiming:
                    recorder.result(claim, "released", reason="worker stopped before sending")
        try:
            await recorder.settle()
        except Exception:  # the rows stay in flight and expire as ambiguous
            log.exception(
                "broadcast %s: could not record results on the way out", self.context.broadcast_id
            )

    async def _expire_leases(self) -> None:
        context = self.context
        now = context.clock()
        expired = await context.tx(
            lambda s: deliveries.expire_leases(s, context.broadcast_id, now=now)
        )
        self.recorder.counts["ambiguous"] += expired.ambiguous
        record_broadcast_outcome("ambiguous", expired.ambiguous)
        record_broadcast_outcome("released", expired.released)
        if expired.released:
            log.warning(
                "broadcast %s: %d rows of a lost worker were unsent; they go out again",
                context.broadcast_id,
                expired.released,
            )
