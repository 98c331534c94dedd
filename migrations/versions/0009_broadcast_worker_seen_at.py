"""broadcasts.worker_seen_at: the heartbeat of the runs sending a broadcast

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 10:00:00

Each live sending run writes the time here every few seconds. A "sending"
broadcast not heard of for `broadcasts.RUN_SILENCE` has no live worker: the
workers' sweep queues it again, and its progress shows "no worker" instead of
the last rate a dead worker published.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.domain.models.types import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("worker_seen_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_column("worker_seen_at")
