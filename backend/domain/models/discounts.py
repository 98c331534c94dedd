"""Discounts: a percent off, behind a short code a cashier can type."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.domain.models.base import Base
from backend.domain.models.enums import ActorKind, DiscountKind, DiscountStatus, enum_column
from backend.domain.models.types import UTCDateTime


class Discount(Base):
    __tablename__ = "discounts"
    __table_args__ = (
        # At most one discount per customer per "occasion" (see discounts.once_key).
        UniqueConstraint("customer_id", "once_key"),
        Index("ix_discounts_status_expires_at", "status", "expires_at"),
        Index("ix_discounts_customer_id_status", "customer_id", "status"),
        # Both cover what the KPI and stats reports read of a window (issued_at or
        # redeemed_at range), so a report never touches the rows themselves.
        Index(
            "ix_discounts_kind_issued_at_status_broadcast_id_percent",
            "kind",
            "issued_at",
            "status",
            "broadcast_id",
            "percent",
        ),
        # Redemptions by kind, store and cashier, and conversions (when issued, by which
        # broadcast): issue 19 added the last two, a conversions count read every row.
        Index(
            "ix_discounts_redemptions_report",
            "redeemed_at",
            "kind",
            "store",
            "cashier_id",
            "broadcast_id",
            "issued_at",
        ),
        Index("ix_discounts_cashier_id_redeemed_at", "cashier_id", "redeemed_at"),
        Index("ix_discounts_broadcast_id", "broadcast_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[DiscountKind] = mapped_column(enum_column(DiscountKind))
    percent: Mapped[int] = mapped_column(SmallInteger)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[DiscountStatus] = mapped_column(
        enum_column(DiscountStatus), default=DiscountStatus.ACTIVE
    )
    once_key: Mapped[str | None] = mapped_column(String(32))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    issued_by_kind: Mapped[ActorKind] = mapped_column(enum_column(ActorKind))
    issued_by_admin_id: Mapped[int | None] = mapped_column(
        ForeignKey("admins.id", ondelete="SET NULL")
    )
    reason: Mapped[str | None] = mapped_column(String(255))
    cashier_id: Mapped[int | None] = mapped_column(ForeignKey("cashiers.id", ondelete="SET NULL"))
    purchase_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    store: Mapped[str | None] = mapped_column(String(64))
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="SET NULL")
    )
