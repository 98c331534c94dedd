"""Cashiers: invited by an owner with a one-time code, joined from the till bot."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import audit
from backend.domain.audit import Actor
from backend.domain.codes import generate_code, normalize_code
from backend.domain.errors import InviteInvalid, NotFound, ValidationFailed
from backend.domain.models import ActorKind, Cashier

INVITE_TTL = timedelta(days=3)


def _invite_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def invite(
    session: AsyncSession, name: str, store: str, *, actor: Actor, now: datetime
) -> tuple[Cashier, str]:
    """Create a cashier waiting to join; returns it with the invite code to hand over."""
    if not name.strip() or not store.strip():
        raise ValidationFailed("a cashier needs a name and a store", field="name")
    code = generate_code(secrets.choice)
    cashier = Cashier(
        name=name.strip()[:128],
        store=store.strip()[:64],
        invite_code_hash=_invite_hash(code),
        invite_expires_at=now + INVITE_TTL,
        is_active=True,
        created_at=now,
    )
    session.add(cashier)
    await session.flush()
    await audit.record(
        session,
        actor,
        "cashier.invite",
        "cashier",
        cashier.id,
        after={"name": cashier.name, "store": cashier.store},
    )
    return cashier, code


async def join(session: AsyncSession, raw_code: str, telegram_id: int, *, now: datetime) -> Cashier:
    """A cashier sends their invite code to the till bot: bind their Telegram account."""
    code = normalize_code(raw_code)
    cashier = None
    if code is not None:
        cashier = await session.scalar(
            select(Cashier).where(Cashier.invite_code_hash == _invite_hash(code)).with_for_update()
        )
    if cashier is None or cashier.invite_expires_at is None or cashier.invite_expires_at <= now:
        raise InviteInvalid("this invite code is invalid or expired")
    cashier.telegram_id = telegram_id
    cashier.joined_at = now
    cashier.invite_code_hash = None
    cashier.invite_expires_at = None
    await session.flush()
    await audit.record(
        session,
        Actor(ActorKind.CASHIER, cashier.id, cashier.name),
        "cashier.join",
        "cashier",
        cashier.id,
        after={"telegram_id": telegram_id},
    )
    return cashier


async def find_by_telegram_id(session: AsyncSession, telegram_id: int) -> Cashier | None:
    result = await session.scalars(select(Cashier).where(Cashier.telegram_id == telegram_id))
    return result.first()


async def list_all(session: AsyncSession) -> list[Cashier]:
    """Every cashier, by store and then name (the admin's list)."""
    return list(await session.scalars(select(Cashier).order_by(Cashier.store, Cashier.name)))


async def by_ids(session: AsyncSession, ids: Sequence[int]) -> list[Cashier]:
    """The cashiers among `ids` that exist, in no particular order (one statement)."""
    return list(await session.scalars(select(Cashier).where(Cashier.id.in_(ids))))


async def set_active(
    session: AsyncSession, cashier_id: int, active: bool, *, actor: Actor
) -> Cashier:
    cashier = await session.get(Cashier, cashier_id, with_for_update=True)
    if cashier is None:
        raise NotFound(f"cashier {cashier_id} does not exist", entity="cashier")
    before = {"is_active": cashier.is_active}
    cashier.is_active = active
    await session.flush()
    await audit.record(
        session,
        actor,
        "cashier.activate" if active else "cashier.deactivate",
        "cashier",
        cashier.id,
        before=before,
        after={"is_active": active},
    )
    return cashier


async def find_by_id(session: AsyncSession, cashier_id: int) -> Cashier | None:
    """A cashier by id, or None (a removed one): for naming who did something."""
    return await session.get(Cashier, cashier_id)
