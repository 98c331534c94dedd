"""Factories: build realistic rows with sensible defaults, override what a test cares about."""

from __future__ import annotations

import functools
import itertools
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import customers, discounts
from backend.domain.admins import hash_password
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.models import (
    Admin,
    AdminRole,
    Cashier,
    Customer,
    CustomerStatus,
    Discount,
    DiscountKind,
    DiscountStatus,
)

_ids = itertools.count(100_000_001)


def next_telegram_id() -> int:
    return next(_ids)


def profile(telegram_id: int | None = None, first_name: str = "Анна") -> customers.TelegramProfile:
    return customers.TelegramProfile(
        telegram_id=telegram_id or next_telegram_id(),
        first_name=first_name,
        last_name="Иванова",
        username=None,
        language="ru",
    )


async def make_customer(
    session: AsyncSession,
    *,
    status: CustomerStatus = CustomerStatus.ACTIVE,
    birthday: date | None = None,
    tags: list[str] | None = None,
    created_at: datetime | None = None,
    **fields: object,
) -> Customer:
    now = created_at or utcnow()
    values: dict[str, object] = {
        "telegram_id": next_telegram_id(),
        "first_name": "Анна",
        "last_name": "Иванова",
        "status": status,
        "created_at": now,
        "last_seen_at": now,
        "subscribed_at": now if status is CustomerStatus.ACTIVE else None,
    }
    values.update(fields)
    customer = Customer(tags=await customers.ensure_tags(session, tags or []), **values)
    customer.birthday = birthday
    session.add(customer)
    await session.flush()
    return customer


async def make_discount(
    session: AsyncSession,
    customer: Customer,
    *,
    kind: DiscountKind = DiscountKind.MANUAL,
    status: DiscountStatus = DiscountStatus.ACTIVE,
    issued_at: datetime | None = None,
    valid_days: int = 30,
) -> Discount:
    issued = issued_at or utcnow()
    discount = await discounts.issue(
        session,
        customer.id,
        discounts.IssueRequest(kind, valid_days=valid_days, reason="тест"),
        actor=Actor.system("test"),
        now=issued,
    )
    discount.status = status
    if status is DiscountStatus.REDEEMED:
        discount.redeemed_at = issued + timedelta(hours=1)
    await session.flush()
    return discount


async def make_cashier(
    session: AsyncSession, *, name: str = "Ольга", store: str = "Светланская", active: bool = True
) -> Cashier:
    cashier = Cashier(
        name=name,
        store=store,
        telegram_id=next_telegram_id(),
        is_active=active,
        joined_at=utcnow(),
    )
    session.add(cashier)
    await session.flush()
    return cashier


@functools.cache
def _hashed(password: str) -> str:
    """bcrypt is slow on purpose; tests hash each password once."""
    return hash_password(password)


async def make_admin(
    session: AsyncSession,
    *,
    email: str | None = None,
    role: AdminRole = AdminRole.OWNER,
    password: str = "correct horse battery",
    telegram_id: int | None = None,
) -> Admin:
    admin = Admin(
        email=email or f"admin{next_telegram_id()}@dvorik.test",
        password_hash=_hashed(password),
        role=role,
        is_active=True,
        telegram_id=telegram_id,
    )
    session.add(admin)
    await session.flush()
    return admin
