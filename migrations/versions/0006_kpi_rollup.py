"""daily KPI rollup: closed business days counted once (see backend/domain/kpi_rollup.py)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 03:30:00

Empty tables: the first KPI report after the upgrade fills the days it needs.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KIND = sa.Enum(
    "subscription", "birthday", "manual", "promo", name="discountkind", native_enum=False, length=16
)


def upgrade() -> None:
    op.create_table(
        "kpi_customer_days",
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("new_customers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("zone", "day"),
    )
    op.create_table(
        "kpi_discount_days",
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("zone", "day"),
    )
    op.create_table(
        "kpi_issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", _KIND, nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_kpi_issues_zone_day", "kpi_issues", ["zone", "day"], unique=False)
    op.create_table(
        "kpi_redemptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", _KIND, nullable=False),
        sa.Column("store", sa.String(length=64), nullable=True),
        sa.Column("cashier_id", sa.Integer(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_kpi_redemptions_zone_day", "kpi_redemptions", ["zone", "day"], unique=False)
    op.create_table(
        "kpi_conversions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("issued_day", sa.Date(), nullable=False),
        sa.Column("kind", _KIND, nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_kpi_conversions_by_issue",
        "kpi_conversions",
        ["zone", "issued_day", "day", "kind", "broadcast_id", "count"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_kpi_conversions_by_issue", table_name="kpi_conversions")
    op.drop_table("kpi_conversions")
    op.drop_index("ix_kpi_redemptions_zone_day", table_name="kpi_redemptions")
    op.drop_table("kpi_redemptions")
    op.drop_index("ix_kpi_issues_zone_day", table_name="kpi_issues")
    op.drop_table("kpi_issues")
    op.drop_table("kpi_discount_days")
    op.drop_table("kpi_customer_days")
