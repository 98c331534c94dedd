"""Sending work to the background: the Taskiq brokers and the transaction-then-enqueue path.

Shared infrastructure: the API, the bots and the workers send tasks through
it, and it imports none of them. The task definitions live in
`backend.workers.tasks`; whichever entry point starts a process that runs
tasks (the API's lifespan when embedded, `dvorik worker`) registers them on
the broker here.

* `queue`: `create_task_queue` / `TaskiqTaskQueue`, what `Runtime.tasks` is;
* `stream_broker`: the Redis stream between the API, the scheduler and the workers;
* `embedded_broker`: the in-process broker of `dvorik serve` without Redis;
* `after_commit`: transactions whose jobs leave only once they have committed;
* `task_runs`: what is sent is recorded as a queued run for the task monitor;
* `stream_trim`: the stream trimmed of finished messages, never of waiting ones.
"""

from backend.task_queue.embedded_broker import EmbeddedBroker
from backend.task_queue.queue import TaskiqTaskQueue, create_broker, create_task_queue
from backend.task_queue.stream_broker import (
    CONSUMER_GROUP,
    QUEUE,
    DvorikStreamBroker,
    consumer_name,
)
from backend.task_queue.stream_trim import Trimmed, trim_stream
from backend.task_queue.task_runs import QueuedRuns, RunWrites

__all__ = [
    "CONSUMER_GROUP",
    "QUEUE",
    "DvorikStreamBroker",
    "EmbeddedBroker",
    "QueuedRuns",
    "RunWrites",
    "TaskiqTaskQueue",
    "Trimmed",
    "consumer_name",
    "create_broker",
    "create_task_queue",
    "trim_stream",
]
