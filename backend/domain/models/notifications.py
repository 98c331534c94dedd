"""Messages to one customer (a discount's notice, an admin's message), one row each.

The row is the idempotency record: written in the same transaction as what it
announces, with a unique `key` (one notice per discount), and a worker claims
it (pending → sending) before the request goes out. A redelivered task finds
the row claimed or sent and sends nothing; a task lost before it ran leaves a
pending row that the sweep sends.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.domain.models.base import Base, Timestamped
from backend.domain.models.enums import ParseMode, enum_column
from backend.domain.models.types import UTCDateTime


class NotificationStatus(StrEnum):
    PENDING = "pending"  # waits for its moment (`not_before`) and a worker
    SENDING = "sending"  # claimed: its request may be on the wire; never sent again
    SENT = "sent"
    SKIPPED = "skipped"  # not sent on purpose: the customer blocked the bot or unsubscribed
    FAILED = "failed"  # Telegram refused it


class CustomerNotification(Timestamped, Base):
    __tablename__ = "customer_notifications"
    __table_args__ = (Index("ix_customer_notifications_status_not_before", "status", "not_before"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    discount_id: Mapped[int | None] = mapped_column(
        ForeignKey("discounts.id", ondelete="CASCADE"), index=True
    )
    template_key: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text)
    parse_mode: Mapped[ParseMode] = mapped_column(enum_column(ParseMode), default=ParseMode.PLAIN)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[NotificationStatus] = mapped_column(
        enum_column(NotificationStatus), default=NotificationStatus.PENDING
    )
    reason: Mapped[str | None] = mapped_column(String(255))
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message_id: Mapped[int | None] = mapped_column(BigInteger)
