"""The send rate limiters: the shared pace kept in this process, or in Redis for several.

The embedded mode sends from one process (`InMemorySendRateLimiter`); with
Redis configured every worker process books its slots in Redis
(`RedisSendRateLimiter`), so they share one pace, one pause after a 429 and
one second per chat. `create_send_rate_limiter` picks one from the settings.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from backend.redis_clients import connection_pool
from backend.workers.sending.pace import CHAT_INTERVAL, checked_rate, interval
from backend.workers.sending.stopping import cancel_and_wait


class InMemorySendRateLimiter:
    """The same schedule in this process (the embedded mode: one process sends)."""

    def __init__(self, rate: float | None = None, *, chat_interval: float = CHAT_INTERVAL) -> None:
        self.rate = checked_rate(rate)
        self.pinned = rate is not None
        self.chat_interval = chat_interval
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._chats: dict[int, float] = {}

    async def before_send(self, chat_id: int) -> None:
        between = interval(self.rate)
        while True:
            now = time.monotonic()
            slot = max(now, self._next_slot, self._paused_until)
            chat_ready = self._chats.get(chat_id, 0.0)
            if chat_ready > slot:  # the chat is not free by then: book nothing, come back
                await asyncio.sleep(chat_ready - now)
                continue
            self._next_slot = slot + between
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
    script call in the order they asked (`Bookings`): at a thousand messages a
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
        self.rate = checked_rate(rate)
        self.pinned = rate is not None
        self.chat_interval = chat_interval
        # Bookings, pause looks and flood pauses of every run in the process:
        # wait for a connection rather than fail when they all ask at once.
        pool = connection_pool(url, max_connections=32, timeout=30)
        self._redis: Redis = Redis(connection_pool=pool)
        self._slots = f"{prefix}:slots"
        self._pause = f"{prefix}:pause"
        self._chat = f"{prefix}:chat:"
        self._book = self._redis.register_script(_BOOK)
        self._pause_left = self._redis.register_script(_PAUSE_LEFT)
        self._slow_down = self._redis.register_script(_SLOW_DOWN)
        self._bookings = Bookings(self._book_many)

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
        answers = await self._book(keys=keys, args=[interval(self.rate), self.chat_interval])
        return [(bool(int(answers[i])), float(answers[i + 1])) for i in range(0, len(answers), 2)]

    async def slow_down(self, seconds: float) -> None:
        await self._slow_down(keys=[self._pause, self._slots], args=[seconds])

    async def close(self) -> None:
        try:
            await self._bookings.close()
        finally:  # closing is cancelled: the connections still go
            await self._redis.aclose()


class Bookings:
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
            await cancel_and_wait(self.writer)


def create_send_rate_limiter(
    redis_url: str | None, rate: float | None = None
) -> InMemorySendRateLimiter | RedisSendRateLimiter:
    """Redis when configured (several worker processes share the pace), in memory otherwise."""
    return RedisSendRateLimiter(redis_url, rate) if redis_url else InMemorySendRateLimiter(rate)
