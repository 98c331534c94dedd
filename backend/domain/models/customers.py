"""Customers of the shop, as the customer bot knows them, and their tags."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from backend.domain.clock import utcnow
from backend.domain.models.base import Base, Timestamped
from backend.domain.models.enums import CustomerStatus, enum_column
from backend.domain.models.types import UTCDateTime

customer_tags = Table(
    "customer_tags",
    Base.metadata,
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_customer_tags_tag_id_customer_id", "tag_id", "customer_id"),
)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)


class Customer(Timestamped, Base):
    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_status_created_at", "status", "created_at"),
        # "Does customer N exist, with which status" answered from a small index instead
        # of the table, when a count starts from a tag's members (segments.count_query).
        Index("ix_customers_id_status", "id", "status"),
        # status last: "born in March and active" is counted from the index alone.
        Index("ix_customers_birth_month_birth_day_status", "birth_month", "birth_day", "status"),
        # The admin list's default order (newest first) when no status is asked for.
        Index("ix_customers_created_at", "created_at"),
        Index("ix_customers_last_seen_at", "last_seen_at"),
        Index("ix_customers_source", "source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    first_name: Mapped[str] = mapped_column(String(128), default="")
    last_name: Mapped[str | None] = mapped_column(String(128))
    username: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    birthday: Mapped[date | None] = mapped_column(Date)
    # Kept beside `birthday` so "whose birthday is today" is an index lookup.
    birth_month: Mapped[int | None] = mapped_column(SmallInteger)
    birth_day: Mapped[int | None] = mapped_column(SmallInteger)
    language: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[CustomerStatus] = mapped_column(
        enum_column(CustomerStatus), default=CustomerStatus.ACTIVE
    )
    marketing_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    subscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # Never loaded behind your back: load it with selectinload where a service needs it
    # (the API reads tags through a DataLoader, one statement per page).
    tags: Mapped[list[Tag]] = relationship(secondary=customer_tags, lazy="raise_on_sql")

    @validates("birthday")
    def _split_birthday(self, _key: str, value: date | None) -> date | None:
        self.birth_month = value.month if value else None
        self.birth_day = value.day if value else None
        return value

    @property
    def tag_names(self) -> list[str]:
        return sorted(tag.name for tag in self.tags)
