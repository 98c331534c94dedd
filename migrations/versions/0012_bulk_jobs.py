"""bulk_jobs: background bulk actions and their progress

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 19:20:00

`bulkTagCustomers` and `bulkIssueDiscount` hand large selections to a
background job and return its id; this table is what `job(id)`, `jobs` and
the `jobProgress` subscription read: the state and `done` of `total`,
committed together with each step of the work.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.domain.models.types import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bulk_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=255), nullable=True),
        sa.Column("created_by_admin_id", sa.Integer(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_admin_id"],
            ["admins.id"],
            name=op.f("fk_bulk_jobs_created_by_admin_id_admins"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", name=op.f("uq_bulk_jobs_key")),
    )
    op.create_index("ix_bulk_jobs_state", "bulk_jobs", ["state"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_bulk_jobs_state", table_name="bulk_jobs")
    op.drop_table("bulk_jobs")
