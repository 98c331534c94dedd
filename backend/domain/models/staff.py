"""People who work the system: admins (SPA), cashiers (till bot), login tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.domain.models.base import Base, Timestamped
from backend.domain.models.enums import AdminRole, enum_column
from backend.domain.models.types import UTCDateTime


class Admin(Timestamped, Base):
    __tablename__ = "admins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(128))
    role: Mapped[AdminRole] = mapped_column(enum_column(AdminRole))
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class AdminLoginToken(Timestamped, Base):
    """A one-time login link; only the SHA-256 of the token is kept."""

    __tablename__ = "admin_login_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    admin_id: Mapped[int] = mapped_column(ForeignKey("admins.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Cashier(Timestamped, Base):
    """A till operator; joins the cashier bot with a one-time invite code."""

    __tablename__ = "cashiers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    store: Mapped[str] = mapped_column(String(64))
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    invite_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    invite_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class LoginOutcome(StrEnum):
    """Where a password sign-in attempt stands (`backend.domain.sign_in`)."""

    PENDING = "pending"  # written, not yet let through or refused
    FAILED = "failed"  # let through to a password check: a failure unless it succeeded
    SUCCEEDED = "succeeded"


class LoginAttempt(Base):
    """One password sign-in try and the place it came from, kept for the throttle's window.

    `ip` is the client address, `net` its range (/24 for IPv4, /64 for IPv6):
    failures count only against the place they came from. Refused attempts
    are deleted, and every sign-in drops rows older than the window.
    """

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_net_at", "net", "at"),
        Index("ix_login_attempts_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(255))
    ip: Mapped[str] = mapped_column(String(64))
    net: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[LoginOutcome] = mapped_column(
        enum_column(LoginOutcome), default=LoginOutcome.PENDING
    )


class RevokedToken(Base):
    """A signed-out JWT, refused until it would have expired anyway."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class TelegramUpdate(Base):
    """Update ids already handled per bot: Telegram may deliver one twice."""

    __tablename__ = "telegram_updates"

    bot: Mapped[str] = mapped_column(String(16), primary_key=True)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
