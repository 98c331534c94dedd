"""The Redis stream that carries tasks from the API and the scheduler to the workers.

Tasks travel over one Redis stream read by a consumer group, and a message is
acknowledged (XACK) only after its task has finished. A worker that dies
mid-task leaves its message pending; once it has been idle for
`TASK_REDELIVER_AFTER_SECONDS` another worker claims it (XAUTOCLAIM) and runs
it again. So every task must be safe to run twice: the domain makes them so
(once_key for birthdays, the row lock in `send_now`, `expire_due` is a plain
UPDATE, the sending engine works off per-delivery rows).

A live worker keeps the messages it is running fresh (their idle time is reset
every third of the redelivery time), so a task that runs for hours (a large
broadcast) is not taken over while its worker lives, and the redelivery time
can be short: it is how long a dead worker's task waits, not a bound on how
long a task may run. A worker cut off from Redis for longer than that may see
another take its task over when Redis is back: a second run, which every task
allows (the sending engine leases deliveries per run).

Acknowledged messages stay in the stream until the hourly clean-up trims them
(`stream_trim`), which never touches one still waiting or pending.

On a Sentinel group (`redis+sentinel://`, `backend.redis_clients`) a task is
sent only once a replica has it too (`WAIT` after the XADD, on the same
connection): replication is asynchronous, and a primary killed just after
an XADD would otherwise take the task with it while the sender was told it
was queued. A primary left without replicas (the other one is the dead old
primary) has nobody to wait for and sends as a single server does. What the
replica may still miss at a kill is harmless: an XACK (the task runs again,
which every task allows) or a delivery (the message is delivered again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from taskiq import AckableMessage, BrokerMessage
from taskiq_redis import RedisStreamBroker

from backend.redis_clients import connection_pool
from backend.redis_roles import sentinel_group

log = logging.getLogger("dvorik.tasks")

QUEUE = "dvorik:tasks"
CONSUMER_GROUP = "dvorik-workers"
REDELIVER_AFTER_MS = 30 * 1000  # a pending message idle this long is claimed again
XREAD_BLOCK_MS = 2000  # longest wait for new messages; a pass also reclaims and keeps alive
ACK_ATTEMPTS = 6  # an acknowledgement is retried for about 12 s of Redis outage
RECONNECT_MAX_SECONDS = 2.0  # longest pause between two tries to reach Redis again
# Bounds on every Redis call of the broker: a Redis that stopped answering (not
# just refusing connections) fails the call instead of hanging it. Reads block
# for `xread_block` (2 s), well inside SOCKET_TIMEOUT.
CONNECT_TIMEOUT = 5.0
SOCKET_TIMEOUT = 15.0
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
REPLICATED_WITHIN_MS = 2000  # on a Sentinel group: how long a sent task waits for a replica
# The pool is handed in (`create_stream_broker`); taskiq-redis still wants a URL it never uses.
_UNUSED_URL = "redis://unused.invalid"


class TaskNotReplicated(RedisConnectionError):
    """No replica confirmed a sent task in time: it may be lost if the primary dies now.

    A connection error, so callers treat it as the short outage it is.
    """


class DvorikStreamBroker(RedisStreamBroker):
    """`RedisStreamBroker` that also reclaims idle messages while the stream is quiet.

    taskiq-redis 1.2.4 runs XAUTOCLAIM only after a read that returned new
    messages, so a dead worker's task waits for the next enqueued task before
    anyone runs it again. Here every pass (at most `xread_block` ms apart)
    reads new messages and then claims those idle for `idle_timeout` ms.
    XAUTOCLAIM is atomic and resets what it claims, so two workers never get
    the same message from one pass (no extra lock needed). A message this
    worker is still running (a broadcast outlasting `idle_timeout`) comes back
    to it that way too: it is skipped, not run a second time beside itself.

    Each pass also resets the idle time of the messages this worker is still
    running (`_keep_alive`, at most every third of `idle_timeout`), so only a
    dead worker's messages ever become idle enough to be claimed.

    A stopping worker's Receiver cancels the read in progress and waits for it
    (shielded) before it finishes: `_raise_lost_cancel` makes sure that cancel
    ends the loop even when redis-py lost it on the way (see there).

    It also outlives a Redis outage: while Redis is unreachable the worker
    keeps running its tasks and retries the stream with a backoff; a Redis
    that comes back empty (no persistence) has lost the consumer group, which
    is created again. Messages queued before such a restart are gone with it:
    every worker's sweep (`backend.workers.tasks.broadcasts.sweep_forever`)
    restarts any broadcast left "sending" with nobody working on it.
    """

    last_read: float | None = None  # Unix time of the last pass that reached Redis

    def __init__(
        self, pool: BlockingConnectionPool, *, replicated: bool = False, **options: Any
    ) -> None:
        super().__init__(_UNUSED_URL, **options)
        self.connection_pool = pool
        self.replicated = replicated  # wait for a replica after each XADD (Sentinel)

    async def shutdown(self) -> None:
        """As taskiq-redis', and the pool's Sentinel connections closed too (`aclose`)."""
        await super().shutdown()
        await self.connection_pool.aclose()

    async def kick(self, message: BrokerMessage) -> None:
        """XADD the task; on a Sentinel group, return only once a replica has it too."""
        queue_name = message.labels.get("queue_name") or self.queue_name
        # One connection throughout: WAIT counts the writes of its own connection.
        async with Redis(
            connection_pool=self.connection_pool, single_connection_client=True
        ) as redis:
            await redis.xadd(
                queue_name,
                {b"data": message.message},
                maxlen=self.maxlen,
                approximate=self.approximate,
            )
            if not self.replicated or not await _has_replicas(redis):
                return  # a primary without replicas (yet, or any more) has nobody to wait for
            if int(await redis.wait(1, REPLICATED_WITHIN_MS)) < 1:
                raise TaskNotReplicated(
                    f"no replica confirmed task {message.task_id} within {REPLICATED_WITHIN_MS} ms"
                )

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        self.running: set[Any] = set()  # ids of messages this worker runs and has not acked
        self.kept_alive = -math.inf  # loop time of the last `_keep_alive`
        outage = _Outage("the task stream")
        async with Redis(connection_pool=self.connection_pool) as redis:
            self.touch = redis.register_script(_TOUCH)
            while True:
                _raise_lost_cancel()
                try:
                    fetched, claimed = await self._read(redis)
                except ResponseError as error:
                    # Redis restarted empty, or the stream was deleted (while this read
                    # was blocked: UNBLOCKED): the consumer group is gone with it.
                    if not str(error).startswith(("NOGROUP", "UNBLOCKED")):
                        raise
                    log.warning("stream %r lost its consumer group: creating it", self.queue_name)
                    with contextlib.suppress(*REDIS_DOWN):  # down again: the next pass waits
                        await self._create_consumer_group(redis)
                    continue
                except REDIS_DOWN as error:
                    await outage.wait(error)
                    continue
                outage.over()
                self.last_read = time.time()
                for stream, messages in fetched or []:
                    for message_id, fields in messages:
                        yield self._ackable(stream, message_id, fields)
                for message_id, fields in claimed[1]:
                    if message_id in self.running:  # our own, still running: leave it be
                        continue
                    if fields:  # None for an entry trimmed away meanwhile
                        log.warning(
                            "redelivering task message %r: its worker went away", message_id
                        )
                        yield self._ackable(self.queue_name, message_id, fields)

    async def _create_consumer_group(self, redis: Redis) -> None:
        """The consumer group again, as `startup` creates it; one there already is kept."""
        try:
            await redis.xgroup_create(
                self.queue_name, self.consumer_group_name, id=self.consumer_id, mkstream=True
            )
        except ResponseError as error:  # BUSYGROUP: another worker was first
            log.debug("consumer group of %r: %s", self.queue_name, error)

    async def _keep_alive(self) -> None:
        """Reset the idle time of the messages this worker runs (still its own), if due."""
        now = asyncio.get_running_loop().time()
        if not self.running or now - self.kept_alive < self.idle_timeout / 3000:
            return
        try:
            await self.touch(
                keys=[self.queue_name],
                args=[self.consumer_group_name, self.consumer_name, *self.running],
            )
        except ResponseError as error:  # the stream or group is gone: the read finds out
            log.warning("could not keep running task messages alive: %s", error)
            return
        self.kept_alive = now

    async def _read(self, redis: Redis) -> tuple[Any, Any]:
        """New messages for this consumer, then those idle too long elsewhere (XAUTOCLAIM)."""
        await self._keep_alive()
        fetched: Any = await redis.xreadgroup(
            self.consumer_group_name,
            self.consumer_name,
            {self.queue_name: ">"},
            block=self.block,
            noack=False,
            count=self.count,
        )
        claimed: Any = await redis.xautoclaim(
            self.queue_name,
            self.consumer_group_name,
            self.consumer_name,
            min_idle_time=self.idle_timeout,
            count=self.unacknowledged_batch_size,
        )
        return fetched, claimed

    def _ackable(self, stream: Any, message_id: Any, fields: dict[bytes, bytes]) -> AckableMessage:
        self.running.add(message_id)
        ack = self._resilient_ack(stream, message_id)

        async def ack_and_forget() -> None:
            try:
                await ack()
            finally:
                self.running.discard(message_id)

        return AckableMessage(data=fields[b"data"], ack=ack_and_forget)

    def _resilient_ack(self, stream: Any, message_id: Any) -> Callable[[], Awaitable[None]]:
        """XACK, retried for a while if Redis is down; given up on, the task may run again.

        Every task is safe to run twice, so an acknowledgement lost in an outage
        costs a redelivery at worst (none if Redis came back empty).
        """

        async def resilient() -> None:
            for attempt in range(ACK_ATTEMPTS):
                try:
                    async with Redis(connection_pool=self.connection_pool) as redis:
                        await redis.xack(stream, self.consumer_group_name, message_id)
                    return
                except REDIS_DOWN as error:
                    if attempt == ACK_ATTEMPTS - 1:
                        log.warning("could not acknowledge task message %r: %r", message_id, error)
                        return
                    await asyncio.sleep(min(5.0, 0.5 * 2**attempt))

        return resilient


# KEYS: the stream. ARGV: the group, this consumer, then message ids. Each message
# still pending for this consumer is claimed by it again, which resets its idle time
# (JUSTID: the delivery count stays); one another worker took over meanwhile is left.
_TOUCH = """
local kept = 0
for i = 3, #ARGV do
  local entry = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if entry[1] and entry[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    kept = kept + 1
  end
end
return kept
"""


class _Outage:
    """Backoff while Redis is unreachable, logged once per outage rather than per retry."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.failures = 0

    async def wait(self, error: BaseException) -> None:
        if self.failures == 0:
            log.warning("%s is unreachable (%r): retrying until Redis is back", self.what, error)
        self.failures += 1
        await asyncio.sleep(min(RECONNECT_MAX_SECONDS, 0.25 * 2 ** min(self.failures, 5)))

    def over(self) -> None:
        if self.failures:
            log.warning("%s is reachable again after %d retries", self.what, self.failures)
            self.failures = 0


def _raise_lost_cancel() -> None:
    """Raise the cancel of this task again if a callee returned normally instead.

    redis-py sends each command through `asyncio.wait_for`, which on Python
    3.11 returns the result, dropping a cancel of the caller, when the send
    has just finished (CPython gh-86296; fixed in 3.12). A lost cancel of the
    read kept `listen` reading forever while Taskiq's Receiver waited for it
    to end inside a shielded scope: the worker never stopped, and the outer
    cancel could not end it either. The task's pending cancel count
    (`Task.cancelling`) still tells, so the next pass raises it.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def _has_replicas(redis: Redis) -> bool:
    """Whether the primary `redis` talks to has a replica connected (ROLE's third item)."""
    role: Any = await redis.role()
    return bool(role[2]) if len(role) > 2 else False


def consumer_name() -> str:
    """This process in the consumer group: readable in XINFO, unique per process."""
    return f"{socket.gethostname()}-{os.getpid()}"


def create_stream_broker(
    redis_url: str,
    *,
    queue_name: str = QUEUE,
    redeliver_after_ms: int = REDELIVER_AFTER_MS,
    consumer: str | None = None,
) -> DvorikStreamBroker:
    """The stream broker as every Dvorik process uses it (sender, worker, scheduler)."""
    return DvorikStreamBroker(
        connection_pool(
            redis_url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=SOCKET_TIMEOUT
        ),
        replicated=sentinel_group(redis_url) is not None,
        queue_name=queue_name,
        consumer_group_name=CONSUMER_GROUP,
        consumer_name=consumer or consumer_name(),
        # A group created after the API already queued work still sees that work.
        consumer_id="0",
        idle_timeout=redeliver_after_ms,
        # Passes come at least three times per redelivery time, to keep messages alive.
        xread_block=max(50, min(XREAD_BLOCK_MS, redeliver_after_ms // 4)),
        # No MAXLEN on XADD: it would drop waiting and pending messages too once
        # more than the limit queued up. The hourly clean-up trims only what is
        # done (`backend.task_queue.stream_trim`).
        maxlen=None,
    )
