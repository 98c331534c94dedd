"""Taskiq tasks: the one list of background work, run by a worker or inside the API.

Each task is a thin wrapper that takes what it needs from its worker process
(`state`: the `Runtime`, the send limiter, ...) and calls domain services; the
same definitions run on a worker's Redis stream broker (`dvorik worker`) and
on the embedded broker of `dvorik serve` without Redis. Whichever entry point
starts such a process puts them on its broker with `register_tasks`.

Task names are the bare names senders use ("process_broadcast",
"bulk_add_tags", ...). Every task may run twice (a worker that dies before
acknowledging is replaced by another that runs it again), so each relies on
an idempotent domain operation. The scheduled ones take an optional `now` so
tests (and a manual re-run) can fix the moment.

By concern: `broadcasts`, `notifications`, `bulk`, `discounts` (birthdays,
expiry), `clean_up` (rows past their keeping time); the worker's side:
`lifecycle` (start-up and shut-down), `state` (what tasks receive),
`send_limiter` and `broadcast_runs` (surviving a Redis outage, one run and
one resume at a time), `task_runs` (each run recorded for the task monitor).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from taskiq import AsyncBroker, TaskiqEvents

from backend.observability.task_metrics import TaskMetrics
from backend.observability.tasks import observe_tasks
from backend.workers.tasks import (
    broadcasts,
    bulk,
    clean_up,
    discounts,
    notifications,
    task_runs,
)
from backend.workers.tasks.broadcast_runs import BroadcastRuns
from backend.workers.tasks.broadcasts import resume_orphaned_broadcasts_job
from backend.workers.tasks.lifecycle import start_runtime, stop_runtime
from backend.workers.tasks.notifications import send_notification

TASKS: dict[str, Callable[..., Awaitable[Any]]] = {
    "process_broadcast": broadcasts.process_broadcast,
    "start_due_broadcasts": broadcasts.start_due_broadcasts,
    "send_customer_notification": notifications.send_customer_notification,
    "send_planned_notification": notifications.send_planned_notification,
    "deliver_due_notifications": notifications.deliver_due_notifications,
    "bulk_add_tags": bulk.bulk_add_tags,
    "bulk_issue_discount": bulk.bulk_issue_discount,
    "give_birthday_discounts": discounts.give_birthday_discounts,
    "expire_discounts": discounts.expire_discounts,
    "forget_old_records": clean_up.forget_old_records,
}


def register_tasks(broker: AsyncBroker) -> None:
    """Put every Dvorik task on `broker` and build the worker's Runtime on its start-up.

    Each run is counted and timed (`dvorik_tasks_total` and the like), logs
    and reports errors with its task's name and request id (`observe_tasks`),
    and is recorded for the task monitor (`task_runs.RunRecorder`); its last
    records land before the Runtime they are written through stops.
    """
    observe_tasks(broker)
    recorder = task_runs.RunRecorder()
    broker.add_middlewares(recorder)
    broker.add_event_handler(TaskiqEvents.WORKER_STARTUP, start_runtime)
    broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, recorder.drain)
    broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, stop_runtime)
    for name, function in TASKS.items():
        broker.register_task(function, task_name=name)
    if not any(isinstance(middleware, TaskMetrics) for middleware in broker.middlewares):
        broker.add_middlewares(TaskMetrics(TASKS))


__all__ = [
    "TASKS",
    "BroadcastRuns",
    "register_tasks",
    "resume_orphaned_broadcasts_job",
    "send_notification",
]
