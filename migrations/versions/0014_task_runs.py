"""task_runs: background task runs for the owner's task monitor

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 10:00:00

Every task sent to the queue and what became of it (queued, running,
succeeded, failed with its error), read by `taskRuns` and `taskStats` and
retried by `retryTaskRun`; the hourly clean-up keeps `TASK_RUNS_KEEP_DAYS`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.domain.models.types import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "task_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("queued_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=128), nullable=True),
        sa.Column("error_type", sa.String(length=128), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("arguments", sa.JSON(), nullable=True),
        sa.Column("retry_of", sa.String(length=64), nullable=True),
        sa.Column("retried_as", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_id", name=op.f("uq_task_runs_task_id")),
    )
    op.create_index("ix_task_runs_task", "task_runs", ["task"], unique=False)
    op.create_index("ix_task_runs_state", "task_runs", ["state"], unique=False)
    op.create_index("ix_task_runs_queued_at", "task_runs", ["queued_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_task_runs_queued_at", table_name="task_runs")
    op.drop_index("ix_task_runs_state", table_name="task_runs")
    op.drop_index("ix_task_runs_task", table_name="task_runs")
    op.drop_table("task_runs")
