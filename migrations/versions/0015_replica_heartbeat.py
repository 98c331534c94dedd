"""replica_heartbeat: the row whose age on a read replica is the replica's lag

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 04:00:00

While DATABASE_READ_URL is set, the API rewrites this one row on the primary
every second and reads it back from the replica (`backend.domain.read_replica`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.domain.models.types import UTCDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "replica_heartbeat",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("beaten_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("replica_heartbeat")
