"""The task queue a process sends work to: the Redis stream, or its own embedded broker.

`create_task_queue` follows REDIS_URL: with it, tasks go to the stream the
worker processes read (`backend.task_queue.stream_broker`); without it, to
this process's `EmbeddedBroker`. Either way a task is sent by its bare name
("process_broadcast", "bulk_add_tags", ...), so the sender need not import
the task's code: the entry point that starts a process registers the task
definitions of `backend.workers` on the broker that runs them.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq import AsyncBroker
from taskiq.kicker import AsyncKicker

from backend.redis_roles import RedisRole, role_url
from backend.settings import Settings
from backend.task_queue.embedded_broker import EmbeddedBroker
from backend.task_queue.stream_broker import QUEUE, REDELIVER_AFTER_MS, create_stream_broker
from backend.task_queue.task_runs import QueuedRuns


def create_broker(
    redis_url: str | None,
    *,
    queue_name: str = QUEUE,
    redeliver_after_ms: int = REDELIVER_AFTER_MS,
    consumer: str | None = None,
) -> AsyncBroker:
    """The Redis stream broker if `redis_url`, else an embedded one; no task registered yet."""
    if redis_url is None:
        return EmbeddedBroker()
    return create_stream_broker(
        redis_url, queue_name=queue_name, redeliver_after_ms=redeliver_after_ms, consumer=consumer
    )


class TaskiqTaskQueue:
    """`backend.domain.tasks.TaskQueue` over a Taskiq broker."""

    def __init__(self, broker: AsyncBroker) -> None:
        self.broker = broker

    async def enqueue(self, task: str, **kwargs: object) -> str:
        """Send `task` by name; returns its job id (Taskiq's task id)."""
        return await self._send(AsyncKicker(task, self.broker, {}), kwargs)

    async def enqueue_as(self, job_id: str, task: str, /, **kwargs: object) -> str:
        """Send `task` by name under `job_id` as its Taskiq task id."""
        return await self._send(AsyncKicker(task, self.broker, {}).with_task_id(job_id), kwargs)

    @staticmethod
    async def _send(kicker: AsyncKicker[Any, Any], kwargs: dict[str, object]) -> str:
        json.dumps(kwargs)  # TypeError here, not in a worker, for what JSON cannot carry
        sent = await kicker.kiq(**kwargs)
        return str(sent.task_id)

    def depth(self) -> int:
        """Tasks running in this process (the embedded mode; a stream's depth is Redis's)."""
        return len(self.broker.running) if isinstance(self.broker, EmbeddedBroker) else 0

    async def wait_idle(self) -> None:
        """Embedded: until no task runs here. With Redis the workers run them: at once."""
        if isinstance(self.broker, EmbeddedBroker):
            await self.broker.wait_idle()

    async def close(self) -> None:
        """Embedded: after the tasks still running here (a bulk job sees its end) are done."""
        await self.wait_idle()
        await self.broker.shutdown()


def create_task_queue(
    settings: Settings, sessions: async_sessionmaker[AsyncSession] | None = None
) -> TaskiqTaskQueue:
    """A process's queue: to the Redis stream when the queue has a Redis, else embedded.

    With `sessions`, every task it sends is recorded as a queued run (`task_runs`).
    """
    broker = create_broker(role_url(settings, RedisRole.QUEUE))
    if sessions is not None:
        broker.add_middlewares(QueuedRuns(sessions))
    return TaskiqTaskQueue(broker)
