"""Background task runs as operators see them: queued, running, succeeded or failed.

One row per Taskiq task id (`backend.domain.task_runs` writes and reads them).
Kept for `TASK_RUNS_KEEP_DAYS` only: the hourly clean-up drops older rows.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.domain.models.base import Base
from backend.domain.models.enums import enum_column
from backend.domain.models.types import UTCDateTime


class TaskRunState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class TaskRun(Base):
    """One task sent to the queue and what became of it.

    `attempts` counts the times a worker started it: more than one means the
    broker delivered it again (its worker died mid-run). `error_type` and
    `error` hold the exception's class and a scrubbed, shortened message, never
    the arguments. `arguments` is kept only for tasks an owner may run again
    (`task_runs.RETRYABLE`), which take ids, not personal data. A retry is a
    new run: `retry_of` on it and `retried_as` on the failed one name each other.
    """

    __tablename__ = "task_runs"
    __table_args__ = (
        Index("ix_task_runs_task", "task"),
        Index("ix_task_runs_state", "state"),
        Index("ix_task_runs_queued_at", "queued_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[str] = mapped_column(String(64), unique=True)
    task: Mapped[str] = mapped_column(String(64))
    state: Mapped[TaskRunState] = mapped_column(enum_column(TaskRunState))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(128))
    error_type: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(String(500))
    arguments: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    retry_of: Mapped[str | None] = mapped_column(String(64))
    retried_as: Mapped[str | None] = mapped_column(String(64))
