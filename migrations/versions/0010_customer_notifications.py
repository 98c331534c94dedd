"""customer_notifications: one row per message to one customer, its idempotency record

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 19:00:00

A discount's notice (manual, bulk, promo) and an admin's direct message are
written here in the transaction that causes them, with a unique key, and sent
by a worker that claims the row first: a redelivered task never sends twice,
and a notice held for the shop's quiet hours waits here until morning.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.domain.models.types import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("discount_id", sa.Integer(), nullable=True),
        sa.Column("template_key", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("parse_mode", sa.String(length=16), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column("not_before", UTCDateTime(), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_notifications_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["discount_id"],
            ["discounts.id"],
            name=op.f("fk_customer_notifications_discount_id_discounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", name=op.f("uq_customer_notifications_key")),
    )
    op.create_index(
        "ix_customer_notifications_status_not_before",
        "customer_notifications",
        ["status", "not_before"],
    )
    op.create_index(
        op.f("ix_customer_notifications_customer_id"), "customer_notifications", ["customer_id"]
    )
    op.create_index(
        op.f("ix_customer_notifications_discount_id"), "customer_notifications", ["discount_id"]
    )


def downgrade() -> None:
    op.drop_table("customer_notifications")
