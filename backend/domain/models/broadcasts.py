"""Broadcasts and one delivery row per recipient (the engine's ledger)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.domain.clock import utcnow
from backend.domain.models.base import Base, Timestamped
from backend.domain.models.enums import BroadcastStatus, DeliveryStatus, ParseMode, enum_column
from backend.domain.models.types import UTCDateTime


class Broadcast(Timestamped, Base):
    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_status_scheduled_at", "status", "scheduled_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    parse_mode: Mapped[ParseMode] = mapped_column(enum_column(ParseMode), default=ParseMode.PLAIN)
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="SET NULL"))
    # The rules as they were when sending started: the audience cannot drift mid-send.
    rules_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    promo_percent: Mapped[int | None] = mapped_column(SmallInteger)
    status: Mapped[BroadcastStatus] = mapped_column(
        enum_column(BroadcastStatus), default=BroadcastStatus.DRAFT
    )
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_admin_id: Mapped[int | None] = mapped_column(
        ForeignKey("admins.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Written every few seconds by each live sending run (its heartbeat; `updated_at`
    # is left alone): a "sending" broadcast not heard of lately has no live worker.
    worker_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BroadcastDelivery(Base):
    __tablename__ = "broadcast_deliveries"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "customer_id"),
        Index("ix_broadcast_deliveries_broadcast_id_status", "broadcast_id", "status"),
        Index("ix_broadcast_deliveries_customer_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    last_error: Mapped[str | None] = mapped_column(String(255))
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
