"""Background bulk jobs and how far each has got (`backend.domain.jobs`)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.domain.clock import utcnow
from backend.domain.models.base import Base, Timestamped
from backend.domain.models.enums import enum_column
from backend.domain.models.types import UTCDateTime


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class BulkJob(Timestamped, Base):
    """One background bulk action: `done` of `total` customers, committed step by step.

    `key` is the id the API hands out (`BulkResult.jobId`); `done` moves in the
    same transaction as each step's work, so it never counts work that rolled
    back, and a job run again resumes after it.
    """

    __tablename__ = "bulk_jobs"
    __table_args__ = (Index("ix_bulk_jobs_state", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[JobState] = mapped_column(enum_column(JobState), default=JobState.QUEUED)
    total: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(255))
    created_by_admin_id: Mapped[int | None] = mapped_column(
        ForeignKey("admins.id", ondelete="SET NULL")
    )
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
