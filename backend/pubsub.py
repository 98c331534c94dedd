"""Progress pub/sub: the sending engine publishes, GraphQL subscriptions listen.

Messages are JSON objects (dicts); both implementations put them through JSON,
so something Redis could not carry fails in the embedded mode too, and every
subscriber gets its own copy. Messages are progress snapshots: a subscriber
may miss some (nothing is stored for later, a slow one skips to the newest),
so each message must make sense on its own.

Subscribing is an async context manager, not a bare async generator:

    async with pubsub.subscribe(broadcast_channel(broadcast_id)) as messages:
        async for message in messages:
            ...

The subscription is registered when the `async with` is entered (a message
published after that is received) and removed when it is left, however it is
left: `break`, an exception, or the task being cancelled. An async generator
that stops early is only cleaned up whenever it gets garbage-collected, which is
how subscriptions leak; the `with` block makes the end explicit. Iterating after
the block has ended yields nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import redis.asyncio as redis
from redis.asyncio.client import PubSub as RedisConnectionPubSub

from backend.redis_clients import client

log = logging.getLogger(__name__)

Message = dict[str, Any]
CONFIRM_TIMEOUT = 5.0  # seconds Redis has to confirm a (un)subscribe
CONNECT_TIMEOUT = 5.0  # seconds to open a connection: a Redis that does not answer fails fast
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError, OSError)


def broadcast_channel(broadcast_id: int) -> str:
    return f"broadcast-progress:{broadcast_id}"


class PubSub(Protocol):
    async def publish(self, channel: str, message: Message) -> None:
        """Send `message` to everyone subscribed to `channel` right now; never blocks on them."""
        ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[Message]]:
        """`async with` it to receive `channel`'s messages; leaving unsubscribes."""
        ...

    async def close(self) -> None:
        """Release connections; subscriptions still open end their iteration."""
        ...


def create_pubsub(redis_url: str | None) -> PubSub:
    """Redis when a URL is configured (several processes), otherwise in-process."""
    if redis_url:
        return RedisPubSub(redis_url)
    return InProcessPubSub()


def _encoded(message: Message) -> str:
    if not isinstance(message, dict):
        raise TypeError(f"a message must be a dict, not {type(message).__name__}")
    return json.dumps(message, ensure_ascii=False)


# --- In one process ------------------------------------------------------------------------


class _Inbox:
    """One subscriber's pending messages: the newest `size`, older ones are dropped."""

    def __init__(self, size: int) -> None:
        self.pending: deque[str] = deque(maxlen=size)
        self.closed = False
        self._arrived = asyncio.Event()

    def put(self, encoded: str) -> None:
        self.pending.append(encoded)  # a full deque drops its oldest
        self._arrived.set()

    def close(self) -> None:
        self.closed = True
        self._arrived.set()

    def __aiter__(self) -> _Inbox:
        return self

    async def __anext__(self) -> Message:
        while not self.pending:
            if self.closed:
                raise StopAsyncIteration
            self._arrived.clear()
            await self._arrived.wait()
        if self.closed:
            raise StopAsyncIteration
        message: Message = json.loads(self.pending.popleft())
        return message


class InProcessPubSub:
    """Fan-out inside one event loop (the embedded mode: engine and API in one process).

    Each subscriber has a bounded inbox; publishing never waits for anyone. Not
    thread-safe: publish and subscribe from the loop that runs the subscribers.
    """

    def __init__(self, max_pending: int = 16) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self._max_pending = max_pending
        self._inboxes: dict[str, set[_Inbox]] = {}
        self._closed = False

    async def publish(self, channel: str, message: Message) -> None:
        if self._closed:
            raise RuntimeError("the pub/sub is closed")
        encoded = _encoded(message)
        for inbox in self._inboxes.get(channel, ()):
            inbox.put(encoded)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[Message]]:
        if self._closed:
            raise RuntimeError("the pub/sub is closed")
        inbox = _Inbox(self._max_pending)
        self._inboxes.setdefault(channel, set()).add(inbox)
        try:
            yield inbox
        finally:
            inbox.close()
            inboxes = self._inboxes.get(channel)
            if inboxes is not None:
                inboxes.discard(inbox)
                if not inboxes:
                    del self._inboxes[channel]

    def subscriber_count(self, channel: str) -> int:
        return len(self._inboxes.get(channel, ()))

    async def close(self) -> None:
        self._closed = True
        for inboxes in self._inboxes.values():
            for inbox in inboxes:
                inbox.close()
        self._inboxes.clear()


# --- Across processes ----------------------------------------------------------------------


class _RedisSubscription:
    def __init__(self, connection: RedisConnectionPubSub, owner: RedisPubSub) -> None:
        self._connection = connection
        self._owner = owner
        self.ended = False
        self.failures = 0

    async def _outage(self, error: BaseException) -> None:
        if self.failures == 0:
            log.warning("subscription lost Redis (%r): reconnecting", error)
        self.failures += 1
        await asyncio.sleep(min(self._owner.poll_interval, 0.1 * 2 ** min(self.failures, 4)))

    def __aiter__(self) -> _RedisSubscription:
        return self

    async def __anext__(self) -> Message:
        while not (self.ended or self._owner.closed):
            # Wake up now and then to notice `close()`; a timeout loses nothing.
            try:
                raw = await self._connection.get_message(
                    ignore_subscribe_messages=True, timeout=self._owner.poll_interval
                )
            except REDIS_DOWN as error:
                # Redis went away: wait for it. redis-py reconnects on the next
                # read and subscribes again; what was published meanwhile is
                # missed, which snapshots allow.
                await self._outage(error)
                continue
            if self.failures:
                log.warning("subscription is receiving again after %d retries", self.failures)
                self.failures = 0
            if raw is None or raw.get("type") != "message":
                continue
            try:
                message = json.loads(raw["data"])
            except ValueError:
                log.warning("skipped a message that is not JSON on %r", raw.get("channel"))
                continue
            if isinstance(message, dict):
                return message
            log.warning("skipped a message that is not a JSON object on %r", raw.get("channel"))
        raise StopAsyncIteration


class RedisPubSub:
    """Redis PUBLISH/SUBSCRIBE with JSON messages (engine and API in different processes).

    Each subscription holds its own connection for as long as it is open; the
    admin dashboards that watch a broadcast are few. Redis channels are global
    to the server, not per database number, so each name is prefixed with the
    URL's database number: two shops (or staging and production) on one Redis
    with different numbers never see each other's progress.
    """

    def __init__(self, url: str, *, poll_interval: float = 1.0) -> None:
        self._redis = client(url, socket_connect_timeout=CONNECT_TIMEOUT)
        self._prefix = f"db{self._redis.connection_pool.connection_kwargs.get('db', 0)}:"
        self.poll_interval = poll_interval
        self.closed = False
        self._down = False
        self._cleanups: set[asyncio.Task[None]] = set()
        self._open: set[_RedisSubscription] = set()
        self._none_open = asyncio.Event()
        self._none_open.set()

    async def publish(self, channel: str, message: Message) -> None:
        """Publish, or drop the message while Redis is unreachable (logged once per outage).

        Messages are snapshots that subscribers may miss anyway; the next one
        after the outage brings them up to date, so a sender never fails for it.
        """
        if self.closed:
            raise RuntimeError("the pub/sub is closed")
        encoded = _encoded(message)
        try:
            await self._redis.publish(self.on_server(channel), encoded)
        except REDIS_DOWN as error:
            if not self._down:
                log.warning("publishing paused: Redis is unreachable (%r)", error)
                self._down = True
            return
        if self._down:
            log.warning("publishing again: Redis answers")
            self._down = False

    def on_server(self, channel: str) -> str:
        """The name `channel` has on the Redis server (with this database's prefix)."""
        return self._prefix + channel

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[Message]]:
        if self.closed:
            raise RuntimeError("the pub/sub is closed")
        channel = self.on_server(channel)
        connection = self._redis.pubsub()
        subscription = _RedisSubscription(connection, self)
        self._open.add(subscription)
        self._none_open.clear()
        try:
            await connection.subscribe(channel)
            # Only once Redis confirms is a message published elsewhere sure to arrive.
            async with asyncio.timeout(CONFIRM_TIMEOUT):
                await _confirmed(connection, "subscribe", channel)
            yield subscription
        finally:
            subscription.ended = True
            # Shielded and kept: a cancelled consumer still unsubscribes, and close() waits.
            cleanup = asyncio.ensure_future(_unsubscribe(connection, channel))
            self._cleanups.add(cleanup)
            cleanup.add_done_callback(self._cleanups.discard)
            self._open.discard(subscription)
            if not self._open:
                self._none_open.set()
            await asyncio.shield(cleanup)

    async def subscriber_count(self, channel: str) -> int:
        """Subscribers of `channel` on the whole Redis server (every process)."""
        counts = await self._redis.pubsub_numsub(self.on_server(channel))
        return int(counts[0][1]) if counts else 0

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        """End open subscriptions, wait for them to unsubscribe, close the connections.

        A subscription whose consumer is iterating notices within `poll_interval`;
        one whose consumer is busy elsewhere gets its connection closed after a
        grace period, which ends its subscription on the server just the same.
        """
        self.closed = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.poll_interval * 2 + 1):
                await self._none_open.wait()
        if self._cleanups:
            await asyncio.gather(*self._cleanups, return_exceptions=True)
        await self._redis.aclose()


async def _confirmed(connection: RedisConnectionPubSub, kind: str, channel: str) -> None:
    """Read replies until Redis confirms `kind` ("subscribe"/"unsubscribe") of `channel`.

    Messages that arrive before the confirmation are skipped; callers bound the wait.
    """
    while True:
        reply = await connection.get_message(timeout=None)
        if (
            reply is not None
            and reply.get("type") == kind
            and reply.get("channel") in (channel, channel.encode())
        ):
            return


async def _unsubscribe(connection: RedisConnectionPubSub, channel: str) -> None:
    """Unsubscribe and wait for Redis to confirm, then hand the connection back.

    If Redis cannot be reached the connection is dropped instead, which ends
    the subscription on the server as well.
    """
    try:
        if connection.connection is not None and connection.connection.is_connected:
            await connection.unsubscribe(channel)
            async with asyncio.timeout(CONFIRM_TIMEOUT):
                await _confirmed(connection, "unsubscribe", channel)
    except (redis.RedisError, OSError, TimeoutError) as error:
        log.warning("could not unsubscribe from %r cleanly: %s", channel, error)
    finally:
        with contextlib.suppress(redis.RedisError, OSError):
            # redis-py typed PubSub.aclose only in 8.x; a typed name keeps mypy
            # quiet on both sides of that change without a version-bound ignore.
            close: Callable[[], Awaitable[None]] = connection.aclose
            await close()
