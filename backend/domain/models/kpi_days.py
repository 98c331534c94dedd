"""The KPI rollup: closed business days counted once, so a report reads days, not rows.

Every table is keyed by the business time zone the days were cut in (a change of
the setting starts a fresh rollup) and holds only closed days (before today in
that zone): their figures never change afterwards, because every count is of
an event on its own day (a customer created, a discount issued or redeemed),
never of a row's current state. `backend.domain.kpi.rollup` fills them, `kpi.tally` reads them.

Two marker tables say which days are counted: `kpi_customer_days` (one row per
day, zeros included, from the first customer on) and `kpi_discount_days` (a day
whose issues, redemptions and conversions are all in the three detail tables,
written in the same transaction). A detail row without its day's marker is never
read as complete; a marker row is the lock two concurrent fills race for.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.domain.models.base import Base
from backend.domain.models.enums import DiscountKind, enum_column


class KpiCustomerDay(Base):
    """Customers created on a business day."""

    __tablename__ = "kpi_customer_days"

    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    new_customers: Mapped[int] = mapped_column(Integer)


class KpiDiscountDay(Base):
    """A business day whose discount events are all in the three tables below."""

    __tablename__ = "kpi_discount_days"

    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class KpiIssue(Base):
    """Discounts issued on a day, per kind and broadcast (no foreign key: history stays)."""

    __tablename__ = "kpi_issues"
    __table_args__ = (Index("ix_kpi_issues_zone_day", "zone", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zone: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[DiscountKind] = mapped_column(enum_column(DiscountKind))
    broadcast_id: Mapped[int | None] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)


class KpiRedemption(Base):
    """Redemptions on a day, per kind, store and cashier (the cashier's id as it was)."""

    __tablename__ = "kpi_redemptions"
    __table_args__ = (Index("ix_kpi_redemptions_zone_day", "zone", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zone: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[DiscountKind] = mapped_column(enum_column(DiscountKind))
    store: Mapped[str | None] = mapped_column(String(64))
    cashier_id: Mapped[int | None] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)


class KpiConversion(Base):
    """Redemptions on `day` of discounts issued on `issued_day`, per kind and broadcast.

    "Issued in a period and redeemed by now" is then a sum over `issued_day`
    of rows that never change, instead of a count of discounts by their
    current status (which a redemption today would change for a past day).
    """

    __tablename__ = "kpi_conversions"
    __table_args__ = (
        # Covers the report's sum over a period's issue days: read from the index alone.
        Index(
            "ix_kpi_conversions_by_issue",
            "zone",
            "issued_day",
            "day",
            "kind",
            "broadcast_id",
            "count",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zone: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    issued_day: Mapped[date] = mapped_column(Date)
    kind: Mapped[DiscountKind] = mapped_column(enum_column(DiscountKind))
    broadcast_id: Mapped[int | None] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
