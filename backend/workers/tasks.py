"""Taskiq tasks: thin wrappers that open the runtime's sessions and call domain services.

Each worker process builds one `Runtime` at start-up (Taskiq's WORKER_STARTUP
event, kept in the broker's `TaskiqState`) and hands it to tasks through a
dependency; in the embedded mode the API's own runtime is put there instead.

Task names are the bare names the API enqueues through `TaskQueue`
("process_broadcast", "bulk_add_tags", ...). Every task may run twice (a worker
that dies before acknowledging is replaced by another that runs it again), so
each relies on an idempotent domain operation. The scheduled ones take an
optional `now` so tests (and a manual re-run) can fix the moment.

The worker state also keeps broadcasts going through faults:
* `WorkerSendLimiter`: sending pauses while Redis is down and resumes when it
  answers; a stopping worker grants no further sends;
* `process_broadcast`: a stopping worker lets requests on the wire finish,
  settles the rest and hands the broadcast back to the queue;
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
import math
import os
import socket
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import BufferedInputFile
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import event, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import AsyncBroker, TaskiqDepends, TaskiqEvents, TaskiqState

from backend.domain import (
    birthdays,
    broadcasts,
    customers,
    discounts,
    notifications,
    shop_settings,
    templates,
)
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.database import run_in_transaction
from backend.domain.errors import DomainError, InvalidState
from backend.domain.models import (
    BroadcastStatus,
    Customer,
    CustomerStatus,
    Discount,
    DiscountKind,
)
from backend.domain.models.notifications import NotificationStatus
from backend.runtime import Runtime
from backend.settings import get_settings
from backend.telegram.qr_codes import qr_png
from backend.workers import bulk_tasks, sending
from backend.workers.sending import BroadcastOutcome, SendRateLimiter

log = logging.getLogger("dvorik.tasks")
T = TypeVar("T")

SEND_ATTEMPTS = 3  # a notification waits out Telegram's "retry after" this many times
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
REDIS_RETRY_MAX_SECONDS = 2.0  # longest pause between two tries to reach Redis again
OWN_RUN_POLL = 0.5  # seconds between looks at a run of the same broadcast in this process
DRAIN_SECONDS = 5.0  # a stopping worker's engine gets this long to wind down by itself
# Each worker looks this often for "sending" broadcasts whose run fell silent: with
# broadcasts.RUN_SILENCE (10 s) a killed worker's broadcast is queued again 10-15 s
# after the kill, and sends again as soon as a worker reads the message.
SWEEP_EVERY = 5.0
# A broadcast sent, resumed or handed back this recently, with no run heard of since,
# may still wait in the queue for a busy worker: it is queued again only after this.
ORPHAN_GRACE = timedelta(seconds=30)
# All sweeps together resume a broadcast once per run that fell silent; if no worker
# takes the message up (all busy), once more per this long.
RESUME_EVERY_MS = 30_000


@dataclass(frozen=True)
class Greeting:
    """A birthday discount just issued, as the greeting needs it (read before the commit)."""

    id: int
    customer_id: int
    percent: int
    code: str
    expires_at: datetime


# --- worker state -----------------------------------------------------------------------------


async def start_runtime(state: TaskiqState) -> None:
    """WORKER_STARTUP: one Runtime per worker process, unless one was handed in (embedded).

    Also the process's send-rate limiter, shared by every broadcast it sends
    (through Redis it is shared with the other workers too).
    """
    if "runtime" not in state:
        settings = state["settings"] if "settings" in state else get_settings()
        state.runtime = Runtime.start(settings)
        state.owns_runtime = True
    if "send_limiter" not in state:
        state.send_limiter = WorkerSendLimiter(
            sending.create_send_rate_limiter(
                state.runtime.settings.redis_url, state.runtime.settings.broadcast_rate_override
            ),
            stopping(state),
        )
    if "broadcast_runs" not in state:
        state.broadcast_runs = BroadcastRuns(state.runtime.settings.redis_url)
    if "worker_id" not in state:
        state.worker_id = f"{socket.gethostname()}:{os.getpid()}"
    if state.get("sweeps") and "sweeper" not in state:  # `run_worker`, `run_embedded`
        state.sweeper = asyncio.create_task(
            sweep_forever(state.runtime, state.broadcast_runs, stopping(state))
        )


async def stop_runtime(state: TaskiqState) -> None:
    """WORKER_SHUTDOWN: stop what `start_runtime` built (never the API's Runtime)."""
    sweeper: asyncio.Task[None] | None = state.pop("sweeper", None)
    if sweeper is not None:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
    limiter: SendRateLimiter | None = state.pop("send_limiter", None)
    if limiter is not None:
        await limiter.close()
    runs: BroadcastRuns | None = state.pop("broadcast_runs", None)
    if runs is not None:
        await runs.close()
    if state.pop("owns_runtime", False):
        runtime: Runtime = state.pop("runtime")
        await runtime.stop()


State = Annotated[TaskiqState, TaskiqDepends()]


def worker_runtime(state: State) -> Runtime:
    runtime: Runtime = state.runtime
    return runtime


def worker_id(state: State) -> str:
    return str(state.get("worker_id") or f"{socket.gethostname()}:{os.getpid()}")


def send_limiter(state: State) -> SendRateLimiter:
    limiter: SendRateLimiter = state.send_limiter
    return limiter


def broadcast_runs(state: State) -> BroadcastRuns:
    if "broadcast_runs" not in state:  # a broker started without our start-up handler
        state.broadcast_runs = BroadcastRuns(None)
    runs: BroadcastRuns = state.broadcast_runs
    return runs


def stopping(state: State) -> asyncio.Event:
    """Set when this process stops taking work (`run_worker`, `run_embedded` set it)."""
    if "stopping" not in state:
        state.stopping = asyncio.Event()
    event: asyncio.Event = state.stopping
    return event


WorkerRuntime = Annotated[Runtime, TaskiqDepends(worker_runtime)]
SendLimiter = Annotated[SendRateLimiter, TaskiqDepends(send_limiter)]
WorkerId = Annotated[str, TaskiqDepends(worker_id)]
Runs = Annotated["BroadcastRuns", TaskiqDepends(broadcast_runs)]
Stopping = Annotated[asyncio.Event, TaskiqDepends(stopping)]


# --- surviving a Redis outage ----------------------------------------------------------------


class WorkerSendLimiter:
    """This worker's door to the shared send limiter: outlives Redis, shuts on stop.

    * The global pace lives in Redis; while Redis is unreachable nobody can
      know it, so sending pauses (breaking Telegram's limit would be worse)
      and goes on once Redis answers again, even empty after a restart. A
      failure must never reach the engine as an error of a send: it would
      count as an ambiguous delivery and never be retried. A flood pause that
      cannot be recorded is logged; the engine still waits it out itself.
    * Once the worker is stopping (`stopping` set) it grants no further slot:
      the engine, stopped by the same event, releases deliveries not yet
      sent while requests already on their way finish.
    """

    def __init__(self, inner: SendRateLimiter, stopping: asyncio.Event) -> None:
        self.inner = inner
        self.stopping = stopping
        self.waiting = 0  # calls waiting for Redis right now: log an outage once, not per send

    @property
    def rate(self) -> float | None:
        return self.inner.rate

    @rate.setter
    def rate(self, value: float | None) -> None:
        self.inner.rate = value

    @property
    def pinned(self) -> bool:
        return self.inner.pinned

    async def before_send(self, chat_id: int) -> None:
        await self._open()
        await self._until_redis_answers(lambda: self.inner.before_send(chat_id))
        await self._open()  # the stop may have come while waiting for the slot

    async def slow_down(self, seconds: float) -> None:
        try:
            await self.inner.slow_down(seconds)
        except REDIS_DOWN as error:
            log.warning("could not share a %.0f s flood pause: %r", seconds, error)

    async def close(self) -> None:
        with contextlib.suppress(*REDIS_DOWN):
            await self.inner.close()

    async def _open(self) -> None:
        if self.stopping.is_set():
            await asyncio.Event().wait()  # until the run is cancelled

    async def _until_redis_answers(self, call: Callable[[], Awaitable[T]]) -> T:
        failures = 0
        while True:
            try:
                result = await call()
            except REDIS_DOWN as error:
                if not self.waiting:
                    log.warning("sending paused: Redis is unreachable (%r)", error)
                self.waiting += 1
                failures += 1
                try:
                    await asyncio.sleep(min(REDIS_RETRY_MAX_SECONDS, 0.1 * 2 ** min(failures, 5)))
                finally:
                    self.waiting -= 1
                continue
            if failures and not self.waiting:
                log.warning("sending resumed: Redis answers again")
            return result


class BroadcastRuns:
    """The broadcast runs of this process, and one resume at a time across the sweeps.

    Whether a run is alive anywhere is the database's to say: each run writes
    its heartbeat on the broadcast (`broadcasts.record_heartbeat`), whatever
    process it is in and whether or not Redis answers. This keeps what the
    database cannot: the runs in this very process (a redelivered message of
    a broadcast already running here waits for that run), and when a sweep
    last resumed a broadcast (in Redis, shared by every worker's sweep;
    without Redis, in this process, the only one).
    """

    def __init__(self, redis_url: str | None) -> None:
        self.local: Counter[int] = Counter()
        self.resumed: dict[str, float] = {}  # without Redis: `resume_key` → when resumed
        self.redis: Redis | None = (
            Redis.from_url(redis_url, socket_connect_timeout=5, socket_timeout=5)
            if redis_url
            else None
        )

    @asynccontextmanager
    async def running(self, broadcast_id: int) -> AsyncIterator[None]:
        self.local[broadcast_id] += 1
        try:
            yield
        finally:
            self.local[broadcast_id] -= 1
            if self.local[broadcast_id] <= 0:
                del self.local[broadcast_id]

    def running_here(self, broadcast_id: int) -> bool:
        return self.local[broadcast_id] > 0

    @staticmethod
    def resume_key(orphan: broadcasts.Orphan) -> str:
        """One resume per silent run: a run started by the last resume has its own heartbeat."""
        seen = orphan.worker_seen_at.isoformat() if orphan.worker_seen_at else "never"
        return f"dvorik:broadcast-resume:{orphan.broadcast_id}:{seen}"

    async def may_resume(self, orphan: broadcasts.Orphan) -> bool:
        """True for the first of the sweeps to resume this broadcast since its run fell silent."""
        key = self.resume_key(orphan)
        if self.redis is None:
            now = asyncio.get_running_loop().time()
            if now - self.resumed.get(key, -math.inf) < RESUME_EVERY_MS / 1000:
                return False
            self.resumed = {k: at for k, at in self.resumed.items() if now - at < 3600}
            self.resumed[key] = now
            return True
        return bool(await self.redis.set(key, 1, nx=True, px=RESUME_EVERY_MS))

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()


# --- the work, as plain functions of a runtime (the tasks below wrap these) --------------------


async def send_notification(
    runtime: Runtime, customer_id: int, template_key: str, context: dict[str, Any]
) -> str:
    """Render `template_key` and send it by the customer bot; returns what happened.

    "sent", "blocked" (the customer blocked the bot: now or before; they are
    marked blocked), "missing" (no such customer), "no_bot" (bots are not
    configured) or "failed" (Telegram refused the message for another reason).
    """
    async with runtime.sessions() as session:
        customer = await session.get(Customer, customer_id)
        if customer is None:
            return "missing"
        if customer.status is CustomerStatus.BLOCKED:
            return "blocked"
        chat_id = customer.telegram_id
        message = await templates.render_message(session, template_key, **context)
    if runtime.bots is None:
        log.warning("bots are not configured: %s for customer %s not sent", template_key, chat_id)
        return "no_bot"
    bot = runtime.bots.customer.bot
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            await bot.send_message(chat_id, message.text, parse_mode=message.telegram_parse_mode)
            return "sent"
        except TelegramRetryAfter as error:
            if attempt == SEND_ATTEMPTS:
                raise
            await asyncio.sleep(error.retry_after)
        except TelegramForbiddenError:
            await run_in_transaction(
                runtime.sessions,
                lambda session: customers.mark_blocked(session, customer_id, now=utcnow()),
            )
            return "blocked"
        except TelegramBadRequest as error:  # chat not found, deactivated account, ...
            log.info("could not send %s to customer %s: %s", template_key, customer_id, error)
            return "failed"
    raise AssertionError("unreachable")


NOTIFY_CONCURRENCY = 32  # notices of one sweep on their way at once (the limiter sets the pace)


async def deliver_notification(
    runtime: Runtime,
    limiter: SendRateLimiter,
    notification_id: int,
    *,
    now: datetime | None = None,
) -> str:
    """Send one planned notification (`backend.domain.notifications`) once; returns what happened.

    The row is claimed in its own transaction before anything goes out, so a
    redelivered task, or the sweep racing the task, finds it taken ("done").
    Not yet due (quiet hours): "held", left for the sweep in the morning. The
    message waits for its slot in the broadcast engine's limiter. A discount's
    notice is its template as the caption of the code's QR picture, as in the
    customer's cabinet. "sent", "skipped" (blocked or unsubscribed: nothing
    sent), "failed" (Telegram refused; in doubt after a lost answer: never
    resent), "no_bot" (this process has no bots: left pending, untouched).
    """
    if runtime.bots is None:  # claim nothing: a worker with bots (or the sweep) sends it
        log.warning("bots are not configured: notification %s waits", notification_id)
        return "no_bot"
    moment = now or utcnow()
    claimed = await run_in_transaction(
        runtime.sessions,
        lambda session: notifications.claim(session, notification_id, now=moment),
    )
    if isinstance(claimed, str):
        return claimed
    async with runtime.sessions() as session:
        if claimed.text is not None:
            message = templates.render_text(claimed.text, claimed.parse_mode, {})
        else:
            values = dict(claimed.context)
            if "expires_at" in values:
                values["expires_on"] = runtime.texts.last_day(
                    datetime.fromisoformat(str(values.pop("expires_at")))
                )
            message = await templates.render_message(session, claimed.template_key or "", **values)
        rate = await shop_settings.get_int(session, "broadcast_send_rate_per_second")
    bot = runtime.bots.customer.bot
    status, message_id = NotificationStatus.FAILED, None
    reason: str | None = "not sent"
    for attempt in range(1, SEND_ATTEMPTS + 1):
        await sending.take_slot(limiter, claimed.chat_id, rate=float(rate))
        try:
            if claimed.qr_code is not None:
                sent = await bot.send_photo(
                    claimed.chat_id,
                    BufferedInputFile(qr_png(claimed.qr_code), filename=f"{claimed.qr_code}.png"),
                    caption=message.text,
                    parse_mode=message.telegram_parse_mode,
                )
            else:
                sent = await bot.send_message(
                    claimed.chat_id, message.text, parse_mode=message.telegram_parse_mode
                )
            status, reason, message_id = NotificationStatus.SENT, None, sent.message_id
            break
        except TelegramRetryAfter as error:  # everyone pauses; this one goes again after it
            await limiter.slow_down(error.retry_after)
            status, reason = NotificationStatus.FAILED, f"flood control: {error.message}"
            if attempt == SEND_ATTEMPTS:
                break
        except TelegramForbiddenError:
            await run_in_transaction(
                runtime.sessions,
                lambda session: customers.mark_blocked(session, claimed.customer_id, now=utcnow()),
            )
            status, reason = NotificationStatus.SKIPPED, "blocked"
            break
        except TelegramNetworkError as error:  # the answer was lost: maybe it arrived
            status, reason = NotificationStatus.FAILED, f"ambiguous: {error.message}"
            break
        except TelegramAPIError as error:  # chat not found, deactivated account, ...
            status, reason = NotificationStatus.FAILED, error.message
            break
    await run_in_transaction(
        runtime.sessions,
        lambda session: notifications.record_outcome(
            session, claimed.id, status, now=utcnow(), reason=reason, message_id=message_id
        ),
    )
    if status is not NotificationStatus.SENT:
        log.info("notification %s not sent: %s", claimed.id, reason)
    return status.value


async def deliver_due_notifications_job(
    runtime: Runtime, limiter: SendRateLimiter, *, now: datetime
) -> Counter[str]:
    """Send every pending notification whose moment has come: the morning after quiet
    hours, a bulk issue's notices, any whose task was lost. Returns outcomes by kind.

    They go out together, each in its turn of the shared limiter, so a
    thousand notices leave at the shop's send rate and share it with a
    running broadcast.
    """
    async with runtime.sessions() as session:
        due = await notifications.due(session, now=now)
    gate = asyncio.Semaphore(NOTIFY_CONCURRENCY)

    async def one(notification_id: int) -> str:
        async with gate:
            return await deliver_notification(runtime, limiter, notification_id, now=now)

    return Counter(await asyncio.gather(*(one(notification_id) for notification_id in due)))


async def birthday_job(runtime: Runtime, *, now: datetime) -> list[int]:
    """Issue today's birthday discounts, then queue a greeting for each; returns their ids.

    Only discounts this very run inserted are greeted, so a second run (same
    day, or a second scheduler) issues and greets nothing. The greetings are
    queued after the commit; a crash between the two loses greetings, never
    doubles them.
    """

    async def issue(session: AsyncSession) -> list[Greeting]:
        inserted: list[Discount] = []

        def collect(_session: Any, instance: object) -> None:
            if isinstance(instance, Discount) and instance.kind is DiscountKind.BIRTHDAY:
                inserted.append(instance)

        event.listen(session.sync_session, "pending_to_persistent", collect)
        try:
            await birthdays.give_birthday_discounts(session, now=now, zone=runtime.settings.zone)
        finally:
            event.remove(session.sync_session, "pending_to_persistent", collect)
        # A savepoint rolled back after its insert (a code clash) took that row with it.
        return [
            Greeting(d.id, d.customer_id, d.percent, d.code, d.expires_at)
            for d in inserted
            if inspect(d).persistent
        ]

    issued = await run_in_transaction(runtime.sessions, issue)
    if not issued:
        return []
    async with runtime.sessions() as session:
        people = await _first_names(session, {discount.customer_id for discount in issued})
    for discount in issued:
        await runtime.tasks.enqueue(
            "send_customer_notification",
            customer_id=discount.customer_id,
            template_key="birthday_discount",
            context={
                "first_name": people.get(discount.customer_id, ""),
                "percent": discount.percent,
                "code": discount.code,
                "expires_on": runtime.texts.last_day(discount.expires_at),
            },
        )
    return [discount.id for discount in issued]


async def _first_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    rows = await session.execute(
        select(Customer.id, Customer.first_name).where(Customer.id.in_(sorted(ids)))
    )
    return {customer_id: first_name for customer_id, first_name in rows.all()}


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

        def start(session: AsyncSession, broadcast_id: int = broadcast_id) -> Awaitable[Any]:
            return broadcasts.send_now(session, broadcast_id, actor=actor, now=now)

        try:
            await run_in_transaction(runtime.sessions, start)
        except InvalidState:
            continue  # started (or cancelled) by someone else meanwhile
        except DomainError as error:
            log.warning("scheduled broadcast %s cannot start: %s", broadcast_id, error)
            continue
        await runtime.tasks.enqueue("process_broadcast", broadcast_id=broadcast_id)
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
    if runtime.bots is None:
        log.info("bots are not configured: no sweep for broadcasts nobody sends")
        return
    while not stop.is_set():
        try:
            await resume_orphaned_broadcasts_job(runtime, runs)
        except Exception as error:
            log.warning("could not look for broadcasts nobody sends: %r", error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


async def expire_job(runtime: Runtime, *, now: datetime) -> int:
    return await run_in_transaction(
        runtime.sessions, lambda session: discounts.expire_due(session, now=now)
    )


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
    if runtime.bots is None:
        log.warning("bots are not configured: broadcast %s waits in 'sending'", broadcast_id)
        return None
    return await sending.process_broadcast(
        runtime.sessions,
        runtime.bots.customer.bot,
        runtime.pubsub,
        limiter,
        broadcast_id,
        worker_id=f"{worker}:{uuid.uuid4().hex[:8]}",  # one lease holder per run
        zone=runtime.settings.zone,
        lease=timedelta(seconds=runtime.settings.broadcast_lease_seconds),
        stop=stop,
    )


# --- the tasks -------------------------------------------------------------------------------


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
            await asyncio.wait_for(stop.wait(), OWN_RUN_POLL)
            return None  # stopping: the run here hands the broadcast back
    async with runs.running(broadcast_id):
        if stop.is_set():
            await hand_back(runtime, broadcast_id)
            return None
        run = asyncio.create_task(
            broadcast_job(runtime, broadcast_id, limiter=limiter, worker=worker, stop=stop)
        )
        stopped = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({run, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not run.done():
                await asyncio.wait({run}, timeout=DRAIN_SECONDS)
        finally:
            stopped.cancel()
            if not run.done():
                run.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await run
        if run.cancelled():
            await hand_back(runtime, broadcast_id)
            return None
        outcome = run.result()
        if outcome is not None and outcome.status is BroadcastStatus.SENDING:
            await hand_back(runtime, broadcast_id)  # stopped early: the rest is for another
        return outcome


async def hand_back(runtime: Runtime, broadcast_id: int) -> None:
    """Queue a broadcast this stopping worker leaves unfinished, for the next worker.

    Embedded (no Redis) the process is going away with its queue: the sweep
    resumes the broadcast when the server starts again. With Redis, a hand-back
    that cannot be queued is left to the sweep of any live worker.
    """
    if not runtime.settings.redis_url:
        return
    try:
        await runtime.tasks.enqueue("process_broadcast", broadcast_id=broadcast_id)
    except Exception as error:  # Redis down too: the scheduler's sweep resumes it later
        log.warning("could not hand broadcast %s back: %r", broadcast_id, error)
        return
    log.warning("worker stopping: broadcast %s handed back to the queue", broadcast_id)


async def send_customer_notification(
    runtime: WorkerRuntime, customer_id: int, template_key: str, context: dict[str, Any]
) -> str:
    return await send_notification(runtime, customer_id, template_key, context)


async def send_planned_notification(
    runtime: WorkerRuntime, limiter: SendLimiter, notification_id: int
) -> str:
    """Queued after the commit that planned it (an issued discount, an admin's message)."""
    return await deliver_notification(runtime, limiter, notification_id)


async def deliver_due_notifications(
    runtime: WorkerRuntime, limiter: SendLimiter, now: datetime | None = None
) -> dict[str, int]:
    """Every minute: notices held for quiet hours, given in bulk, or whose task was lost."""
    return dict(await deliver_due_notifications_job(runtime, limiter, now=now or utcnow()))


async def bulk_add_tags(
    runtime: WorkerRuntime,
    customer_ids: list[int],
    add: list[str],
    remove: list[str],
    admin_id: int | None,
    job_id: str | None = None,
) -> int:
    return await bulk_tasks.bulk_add_tags(
        runtime.sessions,
        customer_ids=customer_ids,
        add=add,
        remove=remove,
        admin_id=admin_id,
        job_id=job_id,
    )


async def bulk_issue_discount(
    runtime: WorkerRuntime,
    customer_ids: list[int],
    kind: str,
    reason: str,
    percent: int | None,
    valid_days: int | None,
    admin_id: int | None,
    job_id: str | None = None,
) -> int:
    issued = await bulk_tasks.bulk_issue_discount(
        runtime.sessions,
        customer_ids=customer_ids,
        kind=kind,
        reason=reason,
        percent=percent,
        valid_days=valid_days,
        admin_id=admin_id,
        job_id=job_id,
    )
    # The notices are committed: send them now, at the shared rate, not at the next minute.
    await runtime.tasks.enqueue("deliver_due_notifications")
    return issued


async def give_birthday_discounts(runtime: WorkerRuntime, now: datetime | None = None) -> list[int]:
    return await birthday_job(runtime, now=now or utcnow())


async def start_due_broadcasts(runtime: WorkerRuntime, now: datetime | None = None) -> list[int]:
    """Every minute: start scheduled broadcasts that are due (orphans: `sweep_forever`)."""
    return await start_due_broadcasts_job(runtime, now=now or utcnow())


async def expire_discounts(runtime: WorkerRuntime, now: datetime | None = None) -> int:
    return await expire_job(runtime, now=now or utcnow())


TASKS: dict[str, Callable[..., Awaitable[Any]]] = {
    "process_broadcast": process_broadcast,
    "send_customer_notification": send_customer_notification,
    "send_planned_notification": send_planned_notification,
    "deliver_due_notifications": deliver_due_notifications,
    "bulk_add_tags": bulk_add_tags,
    "bulk_issue_discount": bulk_issue_discount,
    "give_birthday_discounts": give_birthday_discounts,
    "start_due_broadcasts": start_due_broadcasts,
    "expire_discounts": expire_discounts,
}


def register_tasks(broker: AsyncBroker) -> None:
    """Put every Dvorik task on `broker` and build the worker's Runtime on its start-up."""
    broker.add_event_handler(TaskiqEvents.WORKER_STARTUP, start_runtime)
    broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, stop_runtime)
    for name, function in TASKS.items():
        broker.register_task(function, task_name=name)
