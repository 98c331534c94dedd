"""The broadcast engine: works a "sending" broadcast's deliveries off through the Bot API.

`process_broadcast` is what the task worker runs for one broadcast; it may run
again after a crash, and several may run at once (the ledger in
`backend.domain.deliveries` keeps every delivery to one worker and one send).

One run, step by step:

* fix the audience (`resolve_audience`, idempotent), settle rows a dead worker
  left behind once their lease ran out (`expire_leases`: only claimed → sent
  again; started → ambiguous, never resent);
* loop: keep about two ticks of sending claimed; each delivery books its slot
  from the shared `SendRateLimiter` when its chat is free, waits for a
  connection and its spacing, and only then is marked started (`_Marks`: one
  UPDATE for the rows due together, committed just before their requests go
  out) and sent; a message Telegram accepted is recorded with the next wave
  of marks (milliseconds), other results in batches (every 0.1 s), leases
  renewed while the run lives, progress published at most 4 times a second;
  a watcher re-reads the broadcast status every 0.25 s, so a pause or cancel
  stops new sends within about a second (rows waiting for their slot are
  released, requests already on the wire finish and are recorded);
* all along, the run writes its heartbeat on the broadcast every
  `HEARTBEAT_EVERY` (`broadcasts.record_heartbeat`): a run that stops writing
  it (a killed worker) is noticed by the workers' sweep within seconds and
  the broadcast is queued again, and its progress shows "no worker";
* when nothing is pending, end the broadcast (`finish_if_done`: completed, or
  failed when not one message went out); when the run stops, publish the
  counts read from the delivery rows after its last results are recorded.

Errors, per delivery:

* 429 retry_after: the shared limiter pauses *all* sends for retry_after; this
  delivery waits and retries (at most `MAX_FLOOD_TRIES` times);
* 403: delivery blocked, and the customer is marked blocked;
* 400, 404 and other refusals: delivery failed with Telegram's reason;
* 5xx, or a connection that could not even be opened: retried with
  exponential backoff up to `max_tries`, then failed;
* a timeout or a connection lost mid-request, or anything unexpected from
  the request: ambiguous, failed as "ambiguous: …" and never resent (it may
  have arrived); a failure before the request (limiter, ledger): released;
* 401 (bad token): the row is released and the run raises, nothing can be sent.

A row is in doubt only while its request may be on the wire: it is marked
started as the very last step before the request (after its slot, a free
connection and the spacing), and any answer that certainly refused it (429,
5xx, 400, 403, ...) turns the mark back at once, before its outcome is
recorded or retried, so a worker killed then leaves a row that is resent (and
refused again) rather than one dropped as ambiguous.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import random
import time
import weakref
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Generic, Protocol, TypeVar

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from redis.asyncio import BlockingConnectionPool, Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import broadcasts, deliveries, markup, shop_settings
from backend.domain.clock import utcnow
from backend.domain.database import run_in_transaction
from backend.domain.deliveries import Claim, Outcome, OutcomeKind
from backend.domain.models import Broadcast, BroadcastStatus
from backend.observability.metrics import (
    record_broadcast_outcome,
    record_broadcast_outcomes,
    record_flood_wait,
    record_rate_limit_wait,
)
from backend.pubsub import PubSub, broadcast_channel
from backend.workers.message_sender import MessageSender

log = logging.getLogger("dvorik.sending")
T = TypeVar("T")

# Messages per second a limiter accepts: Telegram's paid broadcasts stop at 1,000/s
# (the shop setting's maximum); load tests against the fake go higher.
MAX_RATE = 100_000.0
# At most one message per second to one chat; the margin absorbs request jitter,
# so arrivals at Telegram are never under a second apart.
CHAT_INTERVAL = 1.05
# The pace runs 2% under the rate: slots exactly 1/rate apart would let the
# jitter between booking and arrival put rate + 1 messages in some second.
PACE_MARGIN = 0.98
TICK = 0.2  # seconds of sending claimed at a time
FLUSH_EVERY = 0.1  # seconds between writes of results to the ledger
STATUS_EVERY = 0.25  # seconds between re-reads of the broadcast's status
PUBLISH_EVERY = 0.25  # at most 4 progress messages a second
RATE_WINDOW = 5.0  # seconds over which the published rate is measured
MAX_FLOOD_TRIES = 20  # 429s one delivery may meet before it is failed
SPACED_UP_TO = 500  # messages a second up to which every send keeps the pace's spacing
WAIT_FOR_OTHERS = 0.5  # seconds between looks when other workers hold the last rows
HEARTBEAT_EVERY = 2.0  # seconds between two heartbeats of a run (see broadcasts.RUN_SILENCE)
# How long a dead run's rows wait before another run settles them; a live run renews
# its leases every third of this, so the lease is short however long a send waits.
DEFAULT_LEASE = timedelta(seconds=20)


# --- The shared send rate ------------------------------------------------------------------


class SendRateLimiter(Protocol):
    """One global pace for every worker, one message per second per chat, flood pauses.

    `rate` is messages per second. A limiter built without one follows the shop
    setting `broadcast_send_rate_per_second`, re-read at the start of every run,
    so an owner's change applies to the next broadcast without a restart.

    A slot is booked only at the moment a message is about to go, and only for
    a chat that may receive by then: deliveries held back by their chat never
    hold global slots, so the pace neither stalls nor bunches up afterwards.
    """

    rate: float | None
    pinned: bool  # built with an explicit rate: the shop setting does not apply

    async def before_send(self, chat_id: int) -> None:
        """Return when a message to `chat_id` may go: its chat is free and a slot is booked."""
        ...

    async def slow_down(self, seconds: float) -> None:
        """Telegram answered 429: nobody sends anything for `seconds`."""
        ...

    async def close(self) -> None: ...


def _checked_rate(rate: float | None) -> float | None:
    if rate is not None and not 0 < rate <= MAX_RATE:
        raise ValueError(f"a send rate must be above 0 and at most {MAX_RATE:g} per second")
    return rate


def _interval(rate: float | None) -> float:
    """Seconds between two booked slots: a little over 1/rate (see `PACE_MARGIN`)."""
    if rate is None:
        raise RuntimeError("the send rate is not set")
    return 1.0 / (rate * PACE_MARGIN)


class InMemorySendRateLimiter:
    """The same schedule in this process (the embedded mode: one process sends)."""

    def __init__(self, rate: float | None = None, *, chat_interval: float = CHAT_INTERVAL) -> None:
        self.rate = _checked_rate(rate)
        self.pinned = rate is not None
        self.chat_interval = chat_interval
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._chats: dict[int, float] = {}

    async def before_send(self, chat_id: int) -> None:
        interval = _interval(self.rate)
        while True:
            now = time.monotonic()
            slot = max(now, self._next_slot, self._paused_until)
            chat_ready = self._chats.get(chat_id, 0.0)
            if chat_ready > slot:  # the chat is not free by then: book nothing, come back
                await asyncio.sleep(chat_ready - now)
                continue
            self._next_slot = slot + interval
            self._chats[chat_id] = slot + self.chat_interval
            if len(self._chats) > 50_000:
                self._chats = {chat: at for chat, at in self._chats.items() if at > now}
            if slot > now:
                await asyncio.sleep(slot - now)
            if self._paused_until <= time.monotonic():
                return
            # A 429 paused everyone while this waited: book again after the pause.

    async def slow_down(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)
        self._next_slot = max(self._next_slot, self._paused_until)

    async def close(self) -> None:
        return None


# KEYS: the global next slot, the pause, then one key per message: its chat's next
# slot. ARGV: interval, chat interval. Books the messages in order and returns
# {booked, wait} per message: 1 with both slots booked (go after `wait`), or 0
# when its chat is not free in time (nothing booked: come back after `wait`).
_BOOK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local next_slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'),
                           tonumber(redis.call('GET', KEYS[2]) or '0'))
local interval, chat_interval = tonumber(ARGV[1]), tonumber(ARGV[2])
local answers = {}
for i = 3, #KEYS do
  local chat_ready = tonumber(redis.call('GET', KEYS[i]) or '0')
  if chat_ready > next_slot then
    answers[#answers + 1] = 0
    answers[#answers + 1] = string.format('%.6f', chat_ready - now)
  else
    local chat_next = next_slot + chat_interval
    redis.call('SET', KEYS[i], string.format('%.6f', chat_next),
               'PX', math.ceil((chat_next - now) * 1000) + 1000)
    answers[#answers + 1] = 1
    answers[#answers + 1] = string.format('%.6f', next_slot - now)
    next_slot = next_slot + interval
  end
end
redis.call('SET', KEYS[1], string.format('%.6f', next_slot),
           'PX', math.ceil((next_slot - now) * 1000) + 1000)
return answers
"""

_PAUSE_LEFT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
return string.format('%.6f', math.max(0, tonumber(redis.call('GET', KEYS[1]) or '0') - now))
"""

_SLOW_DOWN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local until_ = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now + tonumber(ARGV[1]))
local ttl = math.ceil((until_ - now) * 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.6f', until_), 'PX', ttl)
local next_slot = math.max(tonumber(redis.call('GET', KEYS[2]) or '0'), until_)
redis.call('SET', KEYS[2], string.format('%.6f', next_slot), 'PX', ttl)
return 1
"""

# Waits shorter than this are not followed by a look at the pause: a 429 that
# lands within them costs at most one more 429, not a round trip per message.
PAUSE_RECHECK_AFTER = 0.005
MAX_BOOKING = 256  # messages booked by one script call


class RedisSendRateLimiter:
    """The same schedule in Redis: every worker process shares one pace and one pause.

    Times come from Redis (`TIME` inside the scripts), so workers on machines
    whose clocks differ still agree. Messages asking at once are booked by one
    script call in the order they asked (`_Bookings`): at a thousand messages a
    second a round trip each would cost more than the sending.
    """

    def __init__(
        self,
        url: str,
        rate: float | None = None,
        *,
        prefix: str = "dvorik:send",
        chat_interval: float = CHAT_INTERVAL,
    ) -> None:
        self.rate = _checked_rate(rate)
        self.pinned = rate is not None
        self.chat_interval = chat_interval
        # Bookings, pause looks and flood pauses of every run in the process:
        # wait for a connection rather than fail when they all ask at once.
        pool = BlockingConnectionPool.from_url(url, max_connections=32, timeout=30)
        self._redis: Redis = Redis(connection_pool=pool)
        self._slots = f"{prefix}:slots"
        self._pause = f"{prefix}:pause"
        self._chat = f"{prefix}:chat:"
        self._book = self._redis.register_script(_BOOK)
        self._pause_left = self._redis.register_script(_PAUSE_LEFT)
        self._slow_down = self._redis.register_script(_SLOW_DOWN)
        self._bookings = _Bookings(self._book_many)

    async def before_send(self, chat_id: int) -> None:
        while True:
            booked, wait = await self._bookings.book(chat_id)
            if wait > 0:
                await asyncio.sleep(wait)
            if not booked:
                continue
            if wait < PAUSE_RECHECK_AFTER or float(await self._pause_left(keys=[self._pause])) <= 0:
                return
            # A 429 paused everyone while this waited: book again after the pause.

    async def _book_many(self, chat_ids: list[int]) -> list[tuple[bool, float]]:
        keys = [self._slots, self._pause, *(f"{self._chat}{chat}" for chat in chat_ids)]
        answers = await self._book(keys=keys, args=[_interval(self.rate), self.chat_interval])
        return [(bool(int(answers[i])), float(answers[i + 1])) for i in range(0, len(answers), 2)]

    async def slow_down(self, seconds: float) -> None:
        await self._slow_down(keys=[self._pause, self._slots], args=[seconds])

    async def close(self) -> None:
        await self._bookings.close()
        await self._redis.aclose()


class _Bookings:
    """Coalesces the messages asking for a slot into one call per round trip.

    Whoever asks while a call is out goes in the next one (at most `MAX_BOOKING`
    messages), so a lone message waits one round trip, as before, and a wave of
    a hundred costs one script call instead of a hundred.
    """

    def __init__(self, book: Callable[[list[int]], Awaitable[list[tuple[bool, float]]]]):
        self.book_many = book
        self.waiting: list[tuple[int, asyncio.Future[tuple[bool, float]]]] = []
        self.writer: asyncio.Task[None] | None = None

    async def book(self, chat_id: int) -> tuple[bool, float]:
        """(booked, seconds to wait) for one message to `chat_id`."""
        future: asyncio.Future[tuple[bool, float]] = asyncio.get_running_loop().create_future()
        self.waiting.append((chat_id, future))
        if self.writer is None or self.writer.done():
            self.writer = asyncio.create_task(self._write())
        return await future

    async def _write(self) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting[:MAX_BOOKING], self.waiting[MAX_BOOKING:]
            live = [(chat, future) for chat, future in batch if not future.done()]
            if not live:
                continue
            try:
                answers = await self.book_many([chat for chat, _ in live])
            except Exception as error:
                for _, future in live:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), answer in zip(live, answers, strict=True):
                if not future.done():
                    future.set_result(answer)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.writer


def create_send_rate_limiter(
    redis_url: str | None, rate: float | None = None
) -> InMemorySendRateLimiter | RedisSendRateLimiter:
    """Redis when configured (several worker processes share the pace), in memory otherwise."""
    return RedisSendRateLimiter(redis_url, rate) if redis_url else InMemorySendRateLimiter(rate)


async def take_slot(limiter: SendRateLimiter, chat_id: int, *, rate: float) -> None:
    """Wait for one message's turn in the shared pace: for sends outside a broadcast.

    A discount notice or an admin's message takes its slot from the same
    limiter (and this process's spacing) as the engine's deliveries, so
    notices sent while a broadcast runs, or a thousand given in bulk, never
    push the shop over Telegram's rate. `rate` (the shop setting) applies
    unless the limiter was built with its own.
    """
    if not limiter.pinned:
        limiter.rate = rate
    await limiter.before_send(chat_id)
    spacing = _spacing(limiter)
    await spacing.wait(limiter.rate)
    await spacing.send(limiter.rate)


# --- The engine --------------------------------------------------------------------------


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
    bot: Bot,
    pubsub: PubSub,
    limiter: SendRateLimiter,
    broadcast_id: int,
    *,
    worker_id: str,
    batch_size: int = 64,
    concurrency: int = 100,
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
    run = _Run(
        sessions,
        bot,
        pubsub,
        limiter,
        broadcast_id,
        worker_id=worker_id,
        batch_size=batch_size,
        concurrency=concurrency,
        lease=lease,
        max_tries=max_tries,
        zone=zone,
        clock=clock,
    )
    return await run.go(stop)


def _never_sent(error: TelegramNetworkError) -> bool:
    """The connection was never opened, so the request cannot have arrived."""
    return isinstance(
        error.__cause__, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError
    )


class _PerLoop(Generic[T]):
    """One `T` per owner object and event loop: shared by every run of a process.

    Keyed weakly by the owner (a bot's session, a limiter), and made afresh on
    another loop, since asyncio primitives belong to the loop they were made on.
    """

    def __init__(self, make: Callable[[Any], T]) -> None:
        self.make = make
        self.known: weakref.WeakKeyDictionary[Any, tuple[asyncio.AbstractEventLoop, T]] = (
            weakref.WeakKeyDictionary()
        )

    def __call__(self, owner: Any) -> T:
        loop = asyncio.get_running_loop()
        known = self.known.get(owner)
        if known is None or known[0] is not loop:
            known = self.known[owner] = (loop, self.make(owner))
        return known[1]


def _pool_semaphore(session: Any) -> asyncio.Semaphore:
    pool = getattr(session, "_connector_init", {}).get("limit", 100)
    return asyncio.Semaphore(max(1, int(pool)))


_WIRES = _PerLoop(_pool_semaphore)


def _wires(bot: Bot) -> asyncio.Semaphore:
    """Requests this process may have on the wire through `bot`: its connection pool's size.

    Every run in the process shares it. A row is marked started only when its
    request can go out at once; a worker killed then leaves few started rows
    whose request never left (those are ambiguous and never resent).
    """
    return _WIRES(bot.session)


class _Spacing:
    """This process's sends never closer than the pace, even after a stall.

    Slots are booked ahead; a worker starved of CPU for a moment would
    otherwise wake to several due messages and send them together, more than
    the rate in that second. Above `SPACED_UP_TO` messages a second a few
    together are noise, and a timer per message would cost more than it saves.

    Two steps around the write-ahead mark. `wait`, before it, keeps each
    delivery's moment (so a row waiting for its moment is not marked, and not
    in doubt if the worker dies). `send`, after it, holds a request back only
    if the mark's commit was slow and let several marked rows go at once: the
    requests still leave an interval apart (rows waiting there are marked).
    """

    def __init__(self) -> None:
        self.planned = -math.inf  # the moment given to the latest delivery
        self.sent = -math.inf  # when the latest request was let go

    async def wait(self, rate: float | None) -> None:
        """Until this delivery's moment: an interval after the one before (not yet marked)."""
        interval = _interval(rate)
        if interval < 1.0 / SPACED_UP_TO:
            return
        now = asyncio.get_running_loop().time()
        due = max(now, self.planned + interval, self.sent + interval)
        self.planned = due
        if due > now:
            await asyncio.sleep(due - now)

    async def send(self, rate: float | None) -> None:
        """Marked: go now, unless the previous request left less than an interval ago."""
        interval = _interval(rate)
        if interval < 1.0 / SPACED_UP_TO:
            return
        now = asyncio.get_running_loop().time()
        due = max(now, self.sent + interval)
        self.sent = due
        if due > now:
            await asyncio.sleep(due - now)


# One spacing per limiter (so per worker process, whatever the runs) and event loop.
_spacing = _PerLoop[_Spacing](lambda _limiter: _Spacing())


class _Stopped(Exception):
    """The run is stopping while this delivery waited: hand it back unsent."""


class _Marks:
    """The one writer of a run's marks: renewals, sends, unstarts and starts, in waves.

    Deliveries due now ask `start`; whatever has queued up while the previous
    transaction ran goes in the next one, so a mark costs one UPDATE per wave,
    commits just before its requests go out, and marks of one row always
    commit in the order they were asked for. `leases` maps each claim's lease
    to its current marker after renewals.

    Messages Telegram accepted are recorded in the next wave too
    (`record_sent`), not with the other results every `FLUSH_EVERY`: a row is
    in doubt while it is marked started, and a worker killed then leaves it
    "ambiguous", so the sooner its send is recorded the fewer such rows.
    `recorded` is told what was written; what could not be goes to `unrecorded`
    (the run's flush tries again).
    """

    def __init__(
        self,
        tx: Callable[[Callable[[AsyncSession], Awaitable[Any]]], Awaitable[Any]],
        clock: Callable[[], datetime],
        recorded: Callable[[list[Outcome]], None],
        unrecorded: Callable[[list[Outcome]], None],
    ):
        self.tx = tx
        self.clock = clock
        self.recorded = recorded
        self.unrecorded = unrecorded
        self.starts: list[tuple[Claim, asyncio.Future[bool]]] = []
        self.unstarts: list[Claim] = []
        self.sent: list[Outcome] = []
        self.renewal: tuple[datetime, dict[str, list[int]], asyncio.Future[None]] | None = None
        self.leases: dict[str, str] = {}
        self.writer: asyncio.Task[None] | None = None

    async def start(self, claim: Claim) -> bool:
        """True once the row is marked started; False if its lease went to someone else."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.starts.append((claim, future))
        self._wake()
        return await future

    def unstart(self, claim: Claim) -> None:
        self.unstarts.append(claim)
        self._wake()

    def record_sent(self, outcome: Outcome) -> None:
        self.sent.append(outcome)
        self._wake()

    async def renew(self, held: dict[str, list[int]], deadline: datetime) -> None:
        """Extend the leases of the rows `held` (by their claim's lease) to `deadline`."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.renewal = (deadline, held, future)
        self._wake()
        await future

    async def settle(self) -> None:
        """Wait until every queued mark is written (or failed)."""
        while self.writer is not None and not self.writer.done():
            await asyncio.shield(self.writer)

    def _wake(self) -> None:
        if self.writer is None or self.writer.done():
            self.writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        while self.starts or self.unstarts or self.renewal or self.sent:
            starts, self.starts = self.starts, []
            unstarts, self.unstarts = self.unstarts, []
            sent, self.sent = self.sent, []
            renewal, self.renewal = self.renewal, None
            leases, renewals = dict(self.leases), []
            if renewal is not None:
                deadline, held, _ = renewal
                for lease, ids in held.items():
                    current = leases.get(lease, lease)
                    leases[lease] = deliveries.renewed(current, deadline)
                    renewals.append(deliveries.Renewal(current, leases[lease], ids))
            waiting: list[asyncio.Future[Any]] = [future for _, future in starts]
            waiting += [renewal[2]] if renewal is not None else []
            try:
                started = await self.tx(
                    functools.partial(
                        deliveries.update_marks,
                        renew=renewals,
                        sent=sent,
                        unstart=unstarts,
                        start=[claim for claim, _ in starts],
                        leases=leases,
                        now=self.clock(),
                    )
                )
            except Exception as error:
                for future in waiting:
                    if not future.done():
                        future.set_exception(error)
                if sent:
                    self.unrecorded(sent)
                continue
            if sent:
                self.recorded(sent)
            self.leases = leases
            for claim, future in starts:
                if not future.done():
                    future.set_result(claim.delivery_id in started)
            if renewal is not None and not renewal[2].done():
                renewal[2].set_result(None)


class _Run:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bot: Bot,
        pubsub: PubSub,
        limiter: SendRateLimiter,
        broadcast_id: int,
        *,
        worker_id: str,
        batch_size: int,
        concurrency: int,
        lease: timedelta,
        max_tries: int,
        zone: tzinfo,
        clock: Callable[[], datetime],
    ) -> None:
        self.sessions = sessions
        self.bot = bot
        self.sender = MessageSender(bot)
        self.pubsub = pubsub
        self.limiter = limiter
        self.broadcast_id = broadcast_id
        self.worker_id = worker_id
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.lease = lease
        self.max_tries = max_tries
        self.zone = zone
        self.clock = clock
        self.stop = asyncio.Event()
        self.status = BroadcastStatus.SENDING
        self.tasks: set[asyncio.Task[None]] = set()
        self.results: list[Outcome] = []
        self.requesting: set[int] = set()  # deliveries whose request is on the wire
        self.unsettled: dict[int, Claim] = {}  # claims handed to a task, no outcome yet
        self.counts: Counter[str] = Counter()
        self.samples: deque[tuple[float, int]] = deque()
        self.last_publish = -math.inf
        self.fatal: BaseException | None = None
        self.claiming: asyncio.Future[list[Claim]] | None = None
        self.marks = _Marks(self.tx, clock, self._recorded, self.results.extend)
        self.flushing = asyncio.Lock()
        self.total = 0

    async def tx(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """One transaction, shielded: a cancel lets it finish (or roll back) in the background.

        A transaction cut off halfway would leave its connection (and on
        SQLite the write lock) behind, and `_abandon` needs the database next.
        """
        return await asyncio.shield(run_in_transaction(self.sessions, work))

    async def go(self, stop: asyncio.Event | None = None) -> BroadcastOutcome:
        started = time.monotonic()
        self.total = await self.tx(
            lambda s: deliveries.resolve_audience(s, self.broadcast_id, now=self.clock())
        )
        if not self.limiter.pinned:
            self.limiter.rate = float(
                await self.tx(lambda s: shop_settings.get_int(s, "broadcast_send_rate_per_second"))
            )
        await self._heartbeat()
        await self._expire_leases()
        helpers = [
            asyncio.create_task(self._watch_status()),
            asyncio.create_task(self._flush_often()),
            asyncio.create_task(self._renew_leases()),
            asyncio.create_task(self._beat()),
        ]
        if stop is not None:
            helpers.append(asyncio.create_task(self._stop_when(stop)))
        try:
            completed = await self._loop()
        except BaseException:
            await asyncio.shield(self._abandon())
            raise
        finally:
            for helper in helpers:
                helper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await helper
        # Counted from the delivery rows now that this run's last results are in:
        # a pause shows every message that went out, with no rate (nobody sends).
        await self._publish(force=True, final=True)
        return BroadcastOutcome(
            broadcast_id=self.broadcast_id,
            status=self.status,
            completed=completed,
            total=self.total,
            sent=self.counts["sent"],
            blocked=self.counts["blocked"],
            failed=self.counts["failed"],
            ambiguous=self.counts["ambiguous"],
            released=self.counts["released"],
            elapsed=time.monotonic() - started,
        )

    # the main loop: claim, dispatch, record

    async def _loop(self) -> bool:
        """Keep about two ticks of sending claimed; each delivery books its own slot."""
        assert self.limiter.rate is not None
        per_claim = max(1, min(self.batch_size, math.ceil(self.limiter.rate * TICK)))
        held = min(self.concurrency, 2 * per_claim + 4)
        while True:
            await self._flush()
            await self._publish()
            if self.fatal is not None:
                raise self.fatal
            if self.stop.is_set():
                await self._drain()
                return False
            free = held - len(self.tasks)
            if free < max(1, min(per_claim, held) // 4):
                await self._wait_tasks(0.05)
                continue
            claims = await self._claim(min(free, per_claim))
            if claims:
                for claim in claims:
                    self.unsettled[claim.delivery_id] = claim
                    self._spawn(self._deliver(claim))
                continue
            if self.tasks:
                await self._wait_tasks(0.1)
                continue
            if await self._finish_or_wait():
                return True

    async def _finish_or_wait(self) -> bool:
        """Nothing to claim and nothing in flight here: done, stopped, or others still busy."""
        await self.marks.settle()
        await self._flush()
        await self._expire_leases()
        now = self.clock()
        final = await self.tx(lambda s: deliveries.finish_if_done(s, self.broadcast_id, now=now))
        if final is not None:
            self.status = final
            return True
        status = await self._read_status()
        if status is not BroadcastStatus.SENDING:
            self.status = status
            self.stop.set()
        else:  # another worker holds the last rows in flight: their results or leases end it
            await self._sleep_or_stop(WAIT_FOR_OTHERS)
        return False

    async def _claim(self, limit: int) -> list[Claim]:
        now = self.clock()
        self.claiming = asyncio.ensure_future(
            run_in_transaction(
                self.sessions,
                lambda s: deliveries.claim_batch(
                    s,
                    self.broadcast_id,
                    limit=limit,
                    worker_id=self.worker_id,
                    now=now,
                    lease=self.lease,
                    zone=self.zone,
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
            await self._sleep_or_stop(seconds)

    async def _drain(self) -> None:
        """Stopping: deliveries waiting for a slot hand their rows back, requests finish."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
        await self.marks.settle()
        await self._flush()

    async def _abandon(self) -> None:
        """Cancelled or crashed: settle what this worker knows before it goes."""
        self.stop.set()
        for task in list(self.tasks):
            task.cancel()
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
        for claim in list(self.unsettled.values()):  # tasks cancelled before they ever ran
            self._settle_cancelled(claim)
        if self.claiming is not None:  # a claim committed while we were being cancelled
            with contextlib.suppress(Exception):
                for claim in await self.claiming:
                    self._result(claim, "released", reason="worker stopped before sending")
        try:
            await self.marks.settle()
            await self._flush()
        except Exception:  # the rows stay in flight and expire as ambiguous
            log.exception(
                "broadcast %s: could not record results on the way out", self.broadcast_id
            )

    # one delivery

    async def _deliver(self, claim: Claim) -> None:
        try:
            outcome = await self._attempts(claim)
        except asyncio.CancelledError:
            self._settle_cancelled(claim)
            raise
        if outcome is None:  # the lease ran out and the row went to another run
            self.unsettled.pop(claim.delivery_id, None)
            self.counts["lost"] += 1
            return
        kind, message_id, reason = outcome
        self._result(claim, kind, message_id=message_id, reason=reason)

    async def _attempts(self, claim: Claim) -> tuple[OutcomeKind, int | None, str | None] | None:
        loop = asyncio.get_running_loop()
        tries = floods = 0
        prepared = self.sender.prepare(
            claim.chat_id, claim.text, markup.telegram_parse_mode(claim.parse_mode)
        )
        while True:
            try:
                if self.stop.is_set():
                    raise _Stopped
                waiting_since = loop.time()
                await self._or_stop(self.limiter.before_send(claim.chat_id))
                record_rate_limit_wait(loop.time() - waiting_since)
                # Marked only once a connection is free and its spacing is over, so
                # the request leaves as soon as the mark is committed: a worker killed
                # between the two leaves as few rows in doubt as can be.
                async with _wires(self.bot):
                    spacing = _spacing(self.limiter)
                    await spacing.wait(self.limiter.rate)
                    if self.stop.is_set():  # a pause came meanwhile: nothing has gone out
                        raise _Stopped
                    if not await self.marks.start(claim):
                        return None
                    await spacing.send(self.limiter.rate)
                    # Marked until an answer came back: a cancel mid-request leaves the mark on.
                    self.requesting.add(claim.delivery_id)
                    try:
                        message_id = await self.sender.send(prepared)
                    except TelegramAPIError:
                        self.requesting.discard(claim.delivery_id)
                        raise
                    except Exception as error:  # the answer was lost or unreadable: maybe sent
                        self.requesting.discard(claim.delivery_id)
                        log.exception("broadcast %s: unexpected send error", self.broadcast_id)
                        return "ambiguous", None, f"{type(error).__name__}: {error}"
                    self.requesting.discard(claim.delivery_id)
                    return "sent", message_id, None
            except _Stopped:
                return "released", None, "worker stopped before sending"
            # Telegram answered and refused: certainly not sent. The mark goes back
            # first, so a worker killed before the outcome is recorded leaves a
            # row to send again (and be refused again), not one in doubt.
            except TelegramRetryAfter as error:
                self.marks.unstart(claim)
                floods += 1
                await self.limiter.slow_down(error.retry_after)
                record_flood_wait(error.retry_after)
                if floods >= MAX_FLOOD_TRIES:
                    return "failed", None, f"flood control {floods} times: {error.message}"
                wait = float(error.retry_after)
                record_broadcast_outcome("retried")
            except TelegramForbiddenError as error:
                self.marks.unstart(claim)
                return "blocked", None, error.message
            except TelegramServerError as error:
                self.marks.unstart(claim)
                tries += 1
                if tries >= self.max_tries:
                    return "failed", None, f"gave up after {tries} tries: {error.message}"
                wait = _backoff(tries)
                record_broadcast_outcome("retried")
            except TelegramNetworkError as error:
                if not _never_sent(error):
                    return "ambiguous", None, error.message
                self.marks.unstart(claim)
                tries += 1
                if tries >= self.max_tries:
                    return "failed", None, f"gave up after {tries} tries: {error.message}"
                wait = _backoff(tries)
                record_broadcast_outcome("retried")
            except TelegramUnauthorizedError as error:
                self.fatal = error
                self.stop.set()
                return "released", None, f"bot token refused: {error.message}"
            except TelegramAPIError as error:  # 400 "chat not found", 404, ...
                self.marks.unstart(claim)
                return "failed", None, error.message
            except Exception as error:  # the limiter or the ledger failed: nothing went out
                log.warning("broadcast %s: could not send: %r", self.broadcast_id, error)
                return "released", None, f"not sent: {type(error).__name__}"
            try:
                await self._until(wait)
            except _Stopped:
                return "released", None, "worker stopped while waiting to retry"

    def _settle_cancelled(self, claim: Claim) -> None:
        if claim.delivery_id in self.requesting:
            self.requesting.discard(claim.delivery_id)
            self._result(claim, "ambiguous", reason="worker stopped mid-request")
        else:
            self._result(claim, "released", reason="worker stopped before sending")

    def _result(
        self,
        claim: Claim,
        kind: OutcomeKind,
        *,
        message_id: int | None = None,
        reason: str | None = None,
    ) -> None:
        self.unsettled.pop(claim.delivery_id, None)
        outcome = Outcome(claim.delivery_id, kind, message_id, reason)
        if kind == "sent":
            self.marks.record_sent(outcome)  # at once: the row is in doubt until it is
        else:
            self.results.append(outcome)

    def _recorded(self, batch: list[Outcome]) -> None:
        self.counts.update(outcome.kind for outcome in batch)
        record_broadcast_outcomes(outcome.kind for outcome in batch)

    async def _until(self, seconds: float) -> None:
        if seconds > 0 and await self._sleep_or_stop(seconds):
            raise _Stopped
        if self.stop.is_set():
            raise _Stopped

    async def _or_stop(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        if not task.done():
            stopper = asyncio.ensure_future(self.stop.wait())
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
        if not task.done():
            task.cancel()
            raise _Stopped
        task.result()

    async def _sleep_or_stop(self, seconds: float) -> bool:
        """Sleep; True if the run was told to stop meanwhile."""
        try:
            await asyncio.wait_for(self.stop.wait(), seconds)
        except TimeoutError:
            return False
        return True

    # the database side

    async def _flush(self) -> None:
        """Record the results so far; one at a time, so a caller sees earlier flushes done."""
        async with self.flushing:
            if not self.results:
                return
            batch = self.results[:]
            del self.results[:]  # the same list: `_Marks` gives back what it could not write
            try:
                await self.tx(lambda s: deliveries.record_outcomes(s, batch, now=self.clock()))
            except BaseException:
                self.results[:0] = batch
                raise
            self._recorded(batch)

    async def _flush_often(self) -> None:
        """Results reach the ledger within `FLUSH_EVERY`, even while the loop waits out a pause.

        The fewer results a crash can lose, the fewer rows end up ambiguous.
        """
        while True:
            await asyncio.sleep(FLUSH_EVERY)
            try:
                await asyncio.shield(self._flush())  # a cancel must not cut a batch in half
            except Exception:  # the main loop's own flush reports it
                log.warning("broadcast %s: could not record results yet", self.broadcast_id)

    async def _stop_when(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self.stop.set()

    async def _renew_leases(self) -> None:
        """Keep this run's leases a full lease ahead while it lives (a dead run's lapse)."""
        every = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            held: dict[str, list[int]] = {}
            for claim in list(self.unsettled.values()):
                held.setdefault(claim.lease, []).append(claim.delivery_id)
            if not held:
                continue
            try:
                await self.marks.renew(held, self.clock() + self.lease)
            except Exception:  # rows whose lease lapses are settled by the rules; go on
                log.warning("broadcast %s: could not renew leases", self.broadcast_id)

    async def _heartbeat(self) -> None:
        # The time is taken in the transaction: a wait for a connection must not age it.
        await self.tx(lambda s: broadcasts.record_heartbeat(s, self.broadcast_id, now=self.clock()))

    async def _beat(self) -> None:
        """Say this run lives every `HEARTBEAT_EVERY`: the sweep and the progress read it."""
        while True:
            await asyncio.sleep(HEARTBEAT_EVERY)
            try:
                await self._heartbeat()
            except Exception:  # missed beats only make the run look dead a little early
                log.warning("broadcast %s: could not write its heartbeat", self.broadcast_id)

    async def _expire_leases(self) -> None:
        now = self.clock()
        expired = await self.tx(lambda s: deliveries.expire_leases(s, self.broadcast_id, now=now))
        self.counts["ambiguous"] += expired.ambiguous
        record_broadcast_outcome("ambiguous", expired.ambiguous)
        record_broadcast_outcome("released", expired.released)
        if expired.released:
            log.warning(
                "broadcast %s: %d rows of a lost worker were unsent; they go out again",
                self.broadcast_id,
                expired.released,
            )

    async def _read_status(self) -> BroadcastStatus:
        async def read(session: AsyncSession) -> BroadcastStatus:
            status = await session.scalar(
                select(Broadcast.status).where(Broadcast.id == self.broadcast_id)
            )
            return status or BroadcastStatus.CANCELLED  # deleted: nothing left to send

        return await self.tx(read)

    async def _watch_status(self) -> None:
        while not self.stop.is_set():
            await asyncio.sleep(STATUS_EVERY)
            try:
                status = await self._read_status()
            except Exception:
                log.exception("broadcast %s: could not read its status", self.broadcast_id)
                continue
            if status is not BroadcastStatus.SENDING:
                self.status = status
                self.stop.set()

    async def _publish(self, *, force: bool = False, final: bool = False) -> None:
        """Progress from the delivery rows, at most every `PUBLISH_EVERY` unless forced.

        `final`: the run is over, so no rate or time to go (the next run, if
        any, publishes its own).
        """
        now = time.monotonic()
        if not force and now - self.last_publish < PUBLISH_EVERY:
            return
        self.last_publish = now
        try:
            stats = await self.tx(lambda s: broadcasts.stats(s, self.broadcast_id))
            done = stats.sent + stats.failed + stats.blocked
            self.samples.append((now, done))
            while len(self.samples) > 2 and self.samples[1][0] < now - RATE_WINDOW:
                self.samples.popleft()
            since, done_then = self.samples[0]
            rate = (done - done_then) / (now - since) if now - since >= 0.2 and not final else None
            eta = stats.pending / rate if rate else None
            message = broadcasts.progress_message(
                self.broadcast_id, stats, now=self.clock(), rate=rate, eta=eta
            )
            await self.pubsub.publish(broadcast_channel(self.broadcast_id), dict(message))
        except Exception:  # progress is best effort: never stop sending for it
            log.exception("broadcast %s: could not publish progress", self.broadcast_id)


def _backoff(tries: int) -> float:
    return float(min(30.0, 0.5 * 2 ** (tries - 1)) * random.uniform(0.5, 1.0))
