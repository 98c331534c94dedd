"""login attempts remember their place (client IP and range) and an outcome

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 10:00:00

Sign-in failures now count against the place they came from (issue 12), so
each attempt keeps its client IP and the IP's /24 or /64 range; `succeeded`
becomes `outcome` (pending, failed, succeeded), because an attempt is
written before it is let through. The old rows are dropped rather than
converted: they are a 15-minute memory with no place to count against, and
the new NOT NULL columns need no default that way (MariaDB, PostgreSQL and
SQLite's table rebuild alike).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTCOME = sa.Enum(
    "pending", "failed", "succeeded", name="loginoutcome", native_enum=False, length=16
)


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM login_attempts"))
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_email_at")
        batch_op.drop_column("succeeded")
        batch_op.add_column(sa.Column("ip", sa.String(length=64), nullable=False))
        batch_op.add_column(sa.Column("net", sa.String(length=64), nullable=False))
        batch_op.add_column(sa.Column("outcome", OUTCOME, nullable=False))
        batch_op.create_index("ix_login_attempts_net_at", ["net", "at"], unique=False)
        batch_op.create_index("ix_login_attempts_at", ["at"], unique=False)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM login_attempts"))
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_at")
        batch_op.drop_index("ix_login_attempts_net_at")
        batch_op.drop_column("outcome")
        batch_op.drop_column("net")
        batch_op.drop_column("ip")
        batch_op.add_column(sa.Column("succeeded", sa.Boolean(), nullable=False))
        batch_op.create_index("ix_login_attempts_email_at", ["email", "at"], unique=False)
