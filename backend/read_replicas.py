"""The read replica of an API process: its engine, its probe, and the admins' pins.

With DATABASE_READ_URL set, GraphQL queries read from the replica and
everything else from the primary; `backend.domain.read_replica` holds the
rule. Here is what the rule needs at run time:

* `ReadReplica.watching()`: every second, the heartbeat is written on the
  primary and read back from the replica, and `state` kept (`/ready` shows it);
* pins: when an admin's mutation finished (`wrote`). With REDIS_URL they live
  in Redis, one key per admin with a TTL, so every API process sees them;
  without, in this process's memory (embedded mode has one API process).
  While Redis does not answer, an admin's reads go to the primary (a pin might
  be there), and a pin written meanwhile is kept in memory too.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain import read_replica
from backend.domain.clock import utcnow
from backend.domain.database import create_replica_engine, create_replica_sessionmaker
from backend.domain.read_replica import (
    BEAT_EVERY,
    ReadPolicy,
    ReadReason,
    ReadTarget,
    ReplicaState,
)
from backend.redis_clients import client
from backend.redis_roles import RedisRole, role_url
from backend.settings import Settings

log = logging.getLogger("dvorik.read_replica")
PROBE_TIMEOUT = 2.0  # seconds for one heartbeat write or replica read
REDIS_TIMEOUT = 1.0  # seconds for a pin's look-up: a slow Redis sends reads to the primary


class PinsUnavailable(Exception):
    """The shared pin store did not answer: whether the admin wrote is unknown."""


class ReadPins(Protocol):
    async def wrote(self, admin_id: int, at: datetime) -> None: ...
    async def written_at(self, admin_id: int) -> datetime | None: ...
    async def close(self) -> None: ...


class MemoryReadPins:
    """Pins in this process: enough where one API process serves everyone (embedded)."""

    def __init__(self, lifetime: float) -> None:
        self._lifetime = lifetime
        self._pins: dict[int, tuple[datetime, float]] = {}

    async def wrote(self, admin_id: int, at: datetime) -> None:
        self._pins[admin_id] = (at, time.monotonic() + self._lifetime)
        if len(self._pins) > 1_000:  # admins are few; forget the expired now and then
            now = time.monotonic()
            self._pins = {k: pin for k, pin in self._pins.items() if pin[1] > now}

    async def written_at(self, admin_id: int) -> datetime | None:
        pin = self._pins.get(admin_id)
        if pin is None or pin[1] <= time.monotonic():
            return None
        return pin[0]

    async def close(self) -> None:
        self._pins.clear()


class RedisReadPins:
    """Pins every API process sees: `read-pin:<admin id>` = the write's time, with a TTL."""

    def __init__(self, url: str, lifetime: float) -> None:
        self._redis: Redis = client(
            url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
        )
        self._ttl_ms = math.ceil(lifetime * 1000)
        self._local = MemoryReadPins(lifetime)

    async def wrote(self, admin_id: int, at: datetime) -> None:
        await self._local.wrote(admin_id, at)
        try:
            await self._redis.set(_pin_key(admin_id), at.timestamp(), px=self._ttl_ms)
        except (RedisError, OSError) as error:
            log.warning("read pin of admin %s kept in this process only: %r", admin_id, error)

    async def written_at(self, admin_id: int) -> datetime | None:
        try:
            stored = await self._redis.get(_pin_key(admin_id))
        except (RedisError, OSError) as error:
            raise PinsUnavailable(repr(error)) from error
        shared = None if stored is None else datetime.fromtimestamp(float(stored), UTC)
        local = await self._local.written_at(admin_id)
        return max((pin for pin in (shared, local) if pin is not None), default=None)

    async def close(self) -> None:
        await self._redis.aclose()


def _pin_key(admin_id: int) -> str:
    return f"read-pin:{admin_id}"


class ReadReplica:
    """The replica's engine and sessions, what the last probe found, and the pins."""

    def __init__(
        self,
        settings: Settings,
        primary: AsyncEngine,
        *,
        on_fallback: Callable[[], None] | None = None,
    ) -> None:
        assert settings.database_read_url is not None
        self.policy = ReadPolicy(
            max_lag=settings.database_read_max_lag_seconds, pin=settings.database_read_pin_seconds
        )
        self.engine = create_replica_engine(settings.database_read_url)
        self.sessions: async_sessionmaker[AsyncSession] = create_replica_sessionmaker(
            self.engine, primary, on_fallback=on_fallback
        )
        self.state = ReplicaState()
        self._primary = primary
        self._probe = read_replica.lag_probe(self.engine.dialect.name)
        pins_url = role_url(settings, RedisRole.STATE)  # state every API process shares
        self.pins: ReadPins = (
            RedisReadPins(pins_url, self.policy.pin_lifetime)
            if pins_url
            else MemoryReadPins(self.policy.pin_lifetime)
        )

    async def route(self, admin_id: int | None) -> tuple[ReadTarget, ReadReason]:
        """Where a query's reads go now, for `admin_id` (None: not signed in)."""
        written_at = None
        if admin_id is not None:
            try:
                written_at = await self.pins.written_at(admin_id)
            except PinsUnavailable:
                return ReadTarget.PRIMARY, ReadReason.PIN_UNKNOWN
        return read_replica.choose(self.state, self.policy, now=utcnow(), written_at=written_at)

    async def wrote(self, admin_id: int) -> None:
        """`admin_id`'s mutation has finished: pin their reads until the replica has it."""
        await self.pins.wrote(admin_id, utcnow())

    def describe(self) -> str:
        return read_replica.describe(self.state, self.policy, now=utcnow())

    async def check(self) -> None:
        """One heartbeat on the primary, then the replica's own heartbeat read into `state`."""
        try:
            async with asyncio.timeout(PROBE_TIMEOUT), self._primary.begin() as connection:
                await read_replica.beat(connection, utcnow())
        except IntegrityError:
            pass  # another API process inserted the first heartbeat at the same time
        except Exception as error:  # the primary's own probes (/health) report it
            log.warning("replica heartbeat not written: %s", type(error).__name__)
        try:
            async with asyncio.timeout(PROBE_TIMEOUT), self.engine.connect() as connection:
                applied = await self._probe(connection)
        except Exception as error:  # reported in /ready and by routing reads to the primary
            self._observe(ReplicaState(error=type(error).__name__))
            return
        self._observe(ReplicaState(applied, None if applied else "no heartbeat yet"))

    def _observe(self, state: ReplicaState) -> None:
        """Keep `state`; say so in the log when reads move between replica and primary."""
        before = read_replica.choose(self.state, self.policy, now=utcnow(), written_at=None)
        after = read_replica.choose(state, self.policy, now=utcnow(), written_at=None)
        self.state = state
        if before[0] is not after[0]:
            message = "read replica: %s; reads of queries on the %s"
            level = logging.INFO if after[0] is ReadTarget.REPLICA else logging.WARNING
            log.log(level, message, self.describe(), after[0].value)

    @asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        """Probe the replica every `BEAT_EVERY` seconds for as long as the block runs."""
        task = asyncio.create_task(self._watch(), name="read-replica-probe")
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def _watch(self) -> None:
        while True:
            started = time.monotonic()
            await self.check()
            await asyncio.sleep(max(0.0, BEAT_EVERY - (time.monotonic() - started)))

    async def close(self) -> None:
        await self.pins.close()
        await self.engine.dispose()
