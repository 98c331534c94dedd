"""The worker's side of the task monitor: each run started, and how it ended.

`register_tasks` puts `RunRecorder` on every broker that runs tasks (a
worker's stream broker, the embedded one of `dvorik serve`). It writes
through the `Runtime` the process keeps in the broker's state, in the
background (`backend.task_queue.task_runs.RunWrites`): a task never waits for
its record, and a database that is down costs records, not tasks. A run's
end is written after its start has landed, so the row ends in its outcome.

A failure is kept as its exception's class and a message fit for an
operator's screen (`failure_of`): scrubbed of what looks like personal data or
a secret, as log lines are, and of any Cyrillic word (a customer's name, a
template's text), then cut to the column's length.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq import TaskiqMessage, TaskiqMiddleware, TaskiqResult

from backend.domain import task_runs
from backend.domain.clock import utcnow
from backend.domain.database import run_in_transaction
from backend.domain.task_runs import Failure
from backend.observability.logging import REDACTED, scrub
from backend.task_queue.task_runs import RunWrites, queued_at
from backend.workers.tasks.state import process_id

_SCRUBBERS: Final = (
    # SQLAlchemy adds the statement and its parameters: the first line says what failed.
    (re.compile(r"\n\[SQL: .*", re.DOTALL), ""),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), REDACTED),  # an e-mail address
    (re.compile(r"[А-Яа-яЁё]+(?:[-'’][А-Яа-яЁё]+)*"), REDACTED),  # names, texts
    (re.compile(r"(?<![\w.])\d{5,}(?![\w.])"), REDACTED),  # chat ids, phones, long numbers
)


def failure_of(error: BaseException) -> Failure:
    """What of an exception the monitor keeps: its class and a scrubbed, shortened message."""
    message = str(error)
    for pattern, replacement in _SCRUBBERS:
        message = pattern.sub(replacement, message)
    message = " ".join(scrub(message).split())
    if len(message) > task_runs.ERROR_LENGTH:
        message = message[: task_runs.ERROR_LENGTH - 1] + "…"
    return Failure(type=type(error).__name__, message=message)


@dataclass(frozen=True)
class _Started:
    at: datetime
    queued_at: datetime
    worker: str
    arguments: dict[str, Any]
    sessions: async_sessionmaker[AsyncSession]
    write: asyncio.Task[None] | None


class RunRecorder(TaskiqMiddleware):
    """Records each run this broker executes: "running" when it starts, then its outcome."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = RunWrites()
        self.started: dict[str, _Started] = {}

    def _sessions(self) -> async_sessionmaker[AsyncSession] | None:
        """The process's sessions (no Runtime in the state: a broker started by hand)."""
        runtime = self.broker.state.get("runtime")
        return None if runtime is None else runtime.sessions

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        sessions = self._sessions()
        if sessions is None:
            return message
        now = utcnow()
        queued = queued_at(message) or now
        worker = str(self.broker.state.get("worker_id") or process_id())
        task_id, task, kwargs = message.task_id, message.task_name, dict(message.kwargs)

        async def record(session: AsyncSession) -> None:
            await task_runs.record_started(
                session, task_id, task, queued_at=queued, at=now, worker=worker, arguments=kwargs
            )

        write = self.writes.spawn(lambda: run_in_transaction(sessions, record))
        self.started[task_id] = _Started(now, queued, worker, kwargs, sessions, write)
        return message

    def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        started = self.started.pop(message.task_id, None)
        if started is None:
            return
        failure = failure_of(result.error) if result.is_err and result.error else None
        now = utcnow()
        task_id, task = message.task_id, message.task_name

        async def record(session: AsyncSession) -> None:
            await task_runs.record_finished(
                session,
                task_id,
                task,
                queued_at=started.queued_at,
                started_at=started.at,
                at=now,
                worker=started.worker,
                arguments=started.arguments,
                failure=failure,
            )

        self.writes.spawn(lambda: run_in_transaction(started.sessions, record), after=started.write)

    async def drain(self, _state: object = None) -> None:
        """Until the records on their way have landed (for a while): a WORKER_SHUTDOWN
        handler, registered before the one that stops the Runtime they write through."""
        await self.writes.drain()

    async def shutdown(self) -> None:
        await self.writes.drain()
