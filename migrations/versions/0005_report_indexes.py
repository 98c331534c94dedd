"""report indexes: covering indexes for KPIs, stats, segments and the customer list

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 23:40:00

At a million customers and three million discounts the KPI report read rows
for every discount of the window; these indexes carry every column the
window's grouped statements read, so they are answered from the index alone.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("discounts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_discounts_kind_issued_at_status_broadcast_id_percent",
            ["kind", "issued_at", "status", "broadcast_id", "percent"],
            unique=False,
        )
        batch_op.create_index(
            "ix_discounts_redeemed_at_kind_store_cashier_id",
            ["redeemed_at", "kind", "store", "cashier_id"],
            unique=False,
        )
        batch_op.drop_index("ix_discounts_kind_issued_at")
        batch_op.drop_index("ix_discounts_redeemed_at")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customers_birth_month_birth_day_status",
            ["birth_month", "birth_day", "status"],
            unique=False,
        )
        batch_op.create_index("ix_customers_created_at", ["created_at"], unique=False)
        batch_op.drop_index("ix_customers_birth_month_birth_day")


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customers_birth_month_birth_day", ["birth_month", "birth_day"], unique=False
        )
        batch_op.drop_index("ix_customers_created_at")
        batch_op.drop_index("ix_customers_birth_month_birth_day_status")
    with op.batch_alter_table("discounts", schema=None) as batch_op:
        batch_op.create_index("ix_discounts_redeemed_at", ["redeemed_at"], unique=False)
        batch_op.create_index("ix_discounts_kind_issued_at", ["kind", "issued_at"], unique=False)
        batch_op.drop_index("ix_discounts_redeemed_at_kind_store_cashier_id")
        batch_op.drop_index("ix_discounts_kind_issued_at_status_broadcast_id_percent")
