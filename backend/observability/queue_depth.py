"""How much background work is waiting, read when Prometheus scrapes.

The queue is not in this process's memory in production: it is a Redis
stream read by the workers' consumer group. So the depth is asked of Redis
at scrape time (two cheap commands) rather than kept as a counter that every
process would have to agree on:

* waiting: entries no worker has been given yet (the group's `lag`; the
  whole stream if no worker has ever created the group);
* running: entries given to a worker and not yet acknowledged (the group's
  pending count), including those of a dead worker until another claims them.

Embedded (no Redis), tasks run in the API process as soon as they are
queued, so waiting is 0 and running is what is still in progress.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError
from taskiq_redis import RedisStreamBroker

from backend.observability.metrics import TASK_QUEUE_DEPTH

log = logging.getLogger("dvorik.metrics")

READ_TIMEOUT = 2.0  # seconds; a scrape must not hang on a sick Redis


@dataclass(frozen=True)
class QueueDepth:
    waiting: int
    running: int


async def stream_depth(broker: RedisStreamBroker) -> QueueDepth:
    """The depth of a Taskiq Redis stream for its consumer group."""
    async with Redis(connection_pool=broker.connection_pool) as redis:
        try:
            groups: list[dict[str, Any]] = await redis.xinfo_groups(broker.queue_name)
        except ResponseError:  # no such stream yet: nothing was ever queued
            return QueueDepth(waiting=0, running=0)
        group = next((g for g in groups if _text(g["name"]) == broker.consumer_group_name), None)
        if group is None:  # no worker has started yet: everything in the stream waits
            return QueueDepth(waiting=int(await redis.xlen(broker.queue_name)), running=0)
        lag = group.get("lag")
        if lag is None:  # Redis cannot tell after trimming/deletions: count past the cursor
            after = f"({_text(group['last-delivered-id'])}"
            lag = len(await redis.xrange(broker.queue_name, min=after, max="+") or [])
        return QueueDepth(waiting=int(lag), running=int(group["pending"]))


def in_process_depth(queue: object) -> QueueDepth | None:
    """Depth of an in-process queue: its own `depth()` if it has one, else its running set."""
    depth = getattr(queue, "depth", None)
    if callable(depth):
        return QueueDepth(waiting=0, running=int(depth()))
    running = getattr(queue, "running", None)
    if isinstance(running, set):
        return QueueDepth(waiting=0, running=len(running))
    return None


async def read_depth(queue: object) -> QueueDepth | None:
    """The depth of the runtime's task queue, or None for a queue that cannot tell."""
    broker = getattr(queue, "broker", None)
    if isinstance(broker, RedisStreamBroker):
        return await stream_depth(broker)
    return in_process_depth(queue)


async def refresh_queue_depth(queue: object) -> None:
    """Set the depth gauge from `queue`; on failure drop it (a stale figure would mislead)."""
    try:
        depth = await asyncio.wait_for(read_depth(queue), timeout=READ_TIMEOUT)
    except Exception as error:  # reported, not raised: a scrape must still answer
        log.warning("could not read the task queue depth: %s", type(error).__name__)
        depth = None
    if depth is None:
        TASK_QUEUE_DEPTH.clear()
        return
    TASK_QUEUE_DEPTH.labels(state="waiting").set(depth.waiting)
    TASK_QUEUE_DEPTH.labels(state="running").set(depth.running)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
