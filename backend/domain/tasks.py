"""The task broker as the domain sees it: "run this later, somewhere".

Resolvers and services enqueue work (start sending a broadcast, ...) through
`TaskQueue` without knowing the transport. Enqueue only after the transaction
that the task depends on has committed: a worker that picks the task up must
find the rows it refers to, and a rolled-back request must not leave a task
behind. So the resolvers enqueue after their transaction commits, never inside
a service call.

`RecordingTaskQueue` is the in-memory implementation for the embedded mode and
tests until a real broker (Taskiq) is wired in.
"""

from __future__ import annotations

import json
from typing import Protocol
from uuid import uuid4


class TaskQueue(Protocol):
    async def enqueue(self, task: str, **kwargs: object) -> str:
        """Queue `task` with JSON-serialisable keyword arguments; returns the job id."""
        ...


class RecordingTaskQueue:
    """Keeps what was enqueued, in order, as `(task, kwargs)`; runs nothing.

    Arguments must be JSON-serialisable, as they will have to be for a real
    broker: a test or the embedded mode finds a bad argument now, not in
    production.
    """

    def __init__(self) -> None:
        self.enqueued: list[tuple[str, dict[str, object]]] = []

    async def enqueue(self, task: str, **kwargs: object) -> str:
        json.dumps(kwargs)  # TypeError for what a broker could not carry
        self.enqueued.append((task, dict(kwargs)))
        return uuid4().hex
