"""Background tasks counted and timed as they run: a Taskiq middleware.

Whichever process runs tasks (a worker, or `dvorik serve` without Redis)
puts `TaskMetrics` on its broker, so every task is counted by name and
outcome and timed, with no code in the tasks themselves. The task names are
the closed list the process registered, so every series exists from the
start (a `rate()` over a task that has not run yet is 0, not missing).

An outcome is `error` when the task raised (the receiver logs the traceback),
`ok` otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, Final

from prometheus_client import Counter, Gauge, Histogram
from taskiq import TaskiqMessage, TaskiqMiddleware, TaskiqResult

TASKS: Final = Counter(
    "dvorik_tasks",
    "Background tasks finished, by task name and outcome (ok, error).",
    ["task", "outcome"],
)
TASK_DURATION: Final = Histogram(
    "dvorik_task_duration_seconds",
    "How long background tasks ran, by task name (a broadcast's run lasts as long as its sending).",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600),
)
TASKS_RUNNING: Final = Gauge(
    "dvorik_tasks_running",
    "Background tasks running in this process now, by task name.",
    ["task"],
)
OUTCOMES: Final = ("ok", "error")


class TaskMetrics(TaskiqMiddleware):
    """Counts, times and tracks the running tasks of the broker it is added to."""

    def __init__(self, task_names: Iterable[str]) -> None:
        super().__init__()
        self._started: dict[int, float] = {}  # id of the running message -> its start
        for name in task_names:
            TASKS_RUNNING.labels(task=name)
            TASK_DURATION.labels(task=name)
            for outcome in OUTCOMES:
                TASKS.labels(task=name, outcome=outcome)

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        self._started[id(message)] = time.perf_counter()
        TASKS_RUNNING.labels(task=message.task_name).inc()
        return message

    def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        started = self._started.pop(id(message), None)
        task = message.task_name
        TASKS_RUNNING.labels(task=task).dec()
        if started is not None:
            TASK_DURATION.labels(task=task).observe(time.perf_counter() - started)
        TASKS.labels(task=task, outcome="error" if result.is_err else "ok").inc()
