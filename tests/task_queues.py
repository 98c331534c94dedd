"""Task queues for tests: one that records and runs nothing, a recorder of what a broker
sends, and the embedded broker with every Dvorik task on it."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

from taskiq import AsyncBroker, TaskiqMessage, TaskiqMiddleware

from backend.task_queue import TaskiqTaskQueue, create_broker
from backend.workers.schedule import SCHEDULE
from backend.workers.tasks import register_tasks
from tests.api import RunningServer


class RecordingTaskQueue:
    """Keeps what was enqueued, in order, as `(task, kwargs)`; runs nothing.

    Arguments must be JSON-serialisable, as they must be for a real broker: a
    test finds a bad argument now, not in production.
    """

    def __init__(self) -> None:
        self.enqueued: list[tuple[str, dict[str, object]]] = []

    async def enqueue(self, task: str, **kwargs: object) -> str:
        return await self.enqueue_as(uuid4().hex, task, **kwargs)

    async def enqueue_as(self, job_id: str, task: str, /, **kwargs: object) -> str:
        json.dumps(kwargs)  # TypeError for what a broker could not carry
        self.enqueued.append((task, dict(kwargs)))
        return job_id


class SentTasks(TaskiqMiddleware):
    """Records what its broker is given to send, in order, as `(task, kwargs)`."""

    def __init__(self) -> None:
        super().__init__()
        self.enqueued: list[tuple[str, dict[str, Any]]] = []

    def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
        self.enqueued.append((message.task_name, dict(message.kwargs)))
        return message

    @property
    def requested(self) -> list[tuple[str, dict[str, Any]]]:
        """What requests sent: the embedded schedule's ticks (every minute, whenever the
        clock says) left out, so a test crossing a minute sees the same list."""
        timed = {slot.task for slot in SCHEDULE}
        return [(task, kwargs) for task, kwargs in self.enqueued if task not in timed]


def sent_tasks(broker: AsyncBroker) -> SentTasks:
    """The recorder on `broker`, put there on first use: it sees what is sent from then on."""
    for middleware in broker.middlewares:
        if isinstance(middleware, SentTasks):
            return middleware
    recorder = SentTasks()
    broker.add_middlewares(recorder)
    return recorder


def sent_by(server: RunningServer) -> SentTasks:
    """What the running (embedded) server's task queue sends."""
    queue = server.runtime.tasks
    assert isinstance(queue, TaskiqTaskQueue)
    return sent_tasks(queue.broker)


def broker_with_tasks() -> AsyncBroker:
    """An embedded broker with every Dvorik task registered, as `dvorik serve` has it."""
    broker = create_broker(None)
    register_tasks(broker)
    return broker
