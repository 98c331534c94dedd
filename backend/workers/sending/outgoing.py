"""How this process lets its requests out: spaced to the pace, no more than its pool holds.

Whatever the runs, a worker process keeps one spacing per limiter (its sends
never closer than the pace, even after a stall) and one count of requests on
the wire per bot (its connection pool's size), both shared by every run of
the process on an event loop. `take_slot` is the same turn for a message
sent outside a broadcast.
"""

from __future__ import annotations

import asyncio
import math
import weakref
from typing import Generic, TypeVar

from backend.telegram.bot_api import BotApi
from backend.workers.sending.pace import SendRateLimiter, interval

T = TypeVar("T")

SPACED_UP_TO = 500  # messages a second up to which every send keeps the pace's spacing


class PerLoop(Generic[T]):
    """One `T` per owner object and event loop: shared by every run of a process.

    Keyed weakly by the owner (a bot's session, a limiter), and made afresh on
    another loop, since asyncio primitives belong to the loop they were made on.
    """

    def __init__(self) -> None:
        self.known: weakref.WeakKeyDictionary[object, tuple[asyncio.AbstractEventLoop, T]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, owner: object) -> T | None:
        known = self.known.get(owner)
        if known is None or known[0] is not asyncio.get_running_loop():
            return None
        return known[1]

    def put(self, owner: object, value: T) -> T:
        self.known[owner] = (asyncio.get_running_loop(), value)
        return value


class Spacing:
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
        between = interval(rate)
        if between < 1.0 / SPACED_UP_TO:
            return
        now = asyncio.get_running_loop().time()
        due = max(now, self.planned + between, self.sent + between)
        self.planned = due
        if due > now:
            await asyncio.sleep(due - now)

    async def send(self, rate: float | None) -> None:
        """Marked: go now, unless the previous request left less than an interval ago."""
        between = interval(rate)
        if between < 1.0 / SPACED_UP_TO:
            return
        now = asyncio.get_running_loop().time()
        due = max(now, self.sent + between)
        self.sent = due
        if due > now:
            await asyncio.sleep(due - now)


# One spacing per limiter (so per worker process, whatever the runs) and event loop.
_SPACINGS = PerLoop[Spacing]()
_WIRES = PerLoop[asyncio.Semaphore]()


def spacing(limiter: SendRateLimiter) -> Spacing:
    """The spacing of this process's sends through `limiter`."""
    known = _SPACINGS.get(limiter)
    return known if known is not None else _SPACINGS.put(limiter, Spacing())


async def wires(api: BotApi) -> asyncio.Semaphore:
    """Requests this process may have on the wire through a bot: its connection pool's size.

    Every run in the process shares it. A row is marked started only when its
    request can go out at once; a worker killed then leaves few started rows
    whose request never left (those are ambiguous and never resent).
    """
    known = _WIRES.get(api)
    return known if known is not None else _WIRES.put(api, asyncio.Semaphore(max(1, api.pool)))


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
    paced = spacing(limiter)
    await paced.wait(limiter.rate)
    await paced.send(limiter.rate)
