"""A task's request id, name and id on its log lines and error reports; its failure reported.

`TaskObservability` is a Taskiq middleware on every broker that sends or runs
Dvorik's tasks (`observe_tasks`):

* sending: a task queued while a request is handled carries that request's
  id (the `request_id` label), so the work a request caused can be followed
  into the worker that does it; a task queued by a task carries it on;
* running: the request id (the task's own id for a task no request queued,
  a scheduled one) and the task's name and id are bound to the log context
  for the run, so every log line and every error report of the run has them
  (`backend.observability.error_tracking` reads that context);
* error reports of the run have its own breadcrumbs and its name as their
  transaction (`isolate_task`), and a task that raised is reported.

Each run is its own asyncio task (Taskiq's receiver, the embedded broker),
so what is bound for one run ends with it.
"""

from __future__ import annotations

from typing import Any, Final

import structlog
from taskiq import AsyncBroker, TaskiqMessage, TaskiqMiddleware, TaskiqResult

from backend.observability.error_tracking import isolate_task, report_exception

REQUEST_ID_LABEL: Final = "request_id"


class TaskObservability(TaskiqMiddleware):
    def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
        request_id = structlog.contextvars.get_contextvars().get("request_id")
        if isinstance(request_id, str) and REQUEST_ID_LABEL not in message.labels:
            message.labels[REQUEST_ID_LABEL] = request_id
        return message

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        isolate_task(message.task_name)
        request_id = message.labels.get(REQUEST_ID_LABEL) or message.task_id
        structlog.contextvars.bind_contextvars(
            request_id=str(request_id), task=message.task_name, task_id=message.task_id
        )
        return message

    def on_error(
        self, message: TaskiqMessage, result: TaskiqResult[Any], exception: BaseException
    ) -> None:
        report_exception(exception)


def observe_tasks(broker: AsyncBroker) -> AsyncBroker:
    """`broker` with `TaskObservability` (once, however often it is asked)."""
    if not any(isinstance(middleware, TaskObservability) for middleware in broker.middlewares):
        broker.add_middlewares(TaskObservability())
    return broker
