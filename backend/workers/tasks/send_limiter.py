"""This worker's door to the shared send limiter: it outlives a Redis outage and shuts on stop.

Broadcasts and notifications take their send slots from one limiter shared by
every worker through Redis (`backend.workers.sending`). A Redis outage must
not reach the sending engine as the error of a send, and a stopping worker
must grant no further slot: this wrapper does both for the whole process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from backend.workers.sending import SendRateLimiter

log = logging.getLogger("dvorik.tasks")
T = TypeVar("T")

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
REDIS_RETRY_MAX_SECONDS = 2.0  # longest pause between two tries to reach Redis again


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
