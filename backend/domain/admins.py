"""Admins of the SPA: accounts, bcrypt passwords, one-time login tokens.

Login tokens are handed out as random strings and stored only as SHA-256, so
a copy of the database lets nobody log in; consuming one is a conditional
UPDATE, so a token works once even if two tabs race with it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache

import bcrypt
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import audit
from backend.domain.audit import Actor
from backend.domain.batched_deletes import delete_batch
from backend.domain.errors import (
    Conflict,
    InvalidCredentials,
    NotFound,
    TokenInvalid,
    ValidationFailed,
)
from backend.domain.models import Admin, AdminLoginToken, AdminRole

BCRYPT_ROUNDS = 12
MIN_PASSWORD_LENGTH = 10
LOGIN_TOKEN_TTL = timedelta(minutes=10)


# bcrypt reads at most 72 bytes (bcrypt 5 refuses more; a 48-letter Cyrillic
# passphrase is 90). Passwords are hashed as bcrypt over the base64 of their
# SHA-256, so any length works and every byte counts; the prefix tells these
# hashes from the plain bcrypt ones made before, which still verify.
PREHASHED = "$bcrypt-sha256$"
BCRYPT_MAX_BYTES = 72


def _prehash(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode()).digest())


def hash_password(password: str) -> str:
    return PREHASHED + bcrypt.hashpw(_prehash(password), bcrypt.gensalt(BCRYPT_ROUNDS)).decode()


def password_matches(password: str, password_hash: str) -> bool:
    if password_hash.startswith(PREHASHED):
        return bcrypt.checkpw(_prehash(password), password_hash.removeprefix(PREHASHED).encode())
    # A plain bcrypt hash from before: bcrypt 4 read the first 72 bytes when it was made.
    return bcrypt.checkpw(password.encode()[:BCRYPT_MAX_BYTES], password_hash.encode())


@cache
def dummy_hash() -> str:
    """Checked when the email is unknown, at the same cost as a real hash.

    A cheaper one would answer "no such admin" hundreds of times faster than
    "wrong password", telling anyone which emails have accounts.
    """
    return hash_password("dvorik-no-such-admin")


def _normalize_email(email: str) -> str:
    clean = email.strip().lower()
    local, _, domain = clean.partition("@")
    if not local or "." not in domain or " " in clean or len(clean) > 255:
        raise ValidationFailed(f"{email!r} is not an email address", field="email")
    return clean


async def create(
    session: AsyncSession,
    email: str,
    password: str,
    role: AdminRole,
    *,
    actor: Actor,
    telegram_id: int | None = None,
) -> Admin:
    clean_email = _normalize_email(email)
    _check_password(password)
    if await find_by_email(session, clean_email) is not None:
        raise Conflict(f"an admin with email {clean_email} already exists", field="email")
    admin = Admin(
        email=clean_email,
        password_hash=await asyncio.to_thread(hash_password, password),
        role=role,
        telegram_id=telegram_id,
        is_active=True,
    )
    session.add(admin)
    await session.flush()
    await audit.record(
        session,
        actor,
        "admin.create",
        "admin",
        admin.id,
        after={"email": admin.email, "role": admin.role},
    )
    return admin


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )


async def set_password(session: AsyncSession, email: str, password: str, *, actor: Actor) -> Admin:
    """A new password for an admin who forgot theirs: the operator's way back in.

    From the command line only (`dvorik admin set-password`), where whoever
    runs it already holds the database. The audit log records that it
    happened, never the password.
    """
    _check_password(password)
    admin = await find_by_email(session, _normalize_email(email))
    if admin is None:
        raise NotFound(f"no admin with email {email.strip().lower()}", entity="admin")
    admin.password_hash = await asyncio.to_thread(hash_password, password)
    await session.flush()
    await audit.record(session, actor, "admin.set_password", "admin", admin.id)
    return admin


async def find_by_email(session: AsyncSession, email: str) -> Admin | None:
    result = await session.scalars(select(Admin).where(func.lower(Admin.email) == email.lower()))
    return result.first()


async def list_all(session: AsyncSession) -> list[Admin]:
    """Every admin, by email (the owner's list)."""
    return list(await session.scalars(select(Admin).order_by(Admin.email)))


async def by_ids(session: AsyncSession, ids: Sequence[int]) -> list[Admin]:
    """The admins among `ids` that exist, in no particular order (one statement)."""
    return list(await session.scalars(select(Admin).where(Admin.id.in_(ids))))


async def find_by_telegram_id(session: AsyncSession, telegram_id: int) -> Admin | None:
    result = await session.scalars(select(Admin).where(Admin.telegram_id == telegram_id))
    return result.first()


def superadmin_email(telegram_id: int) -> str:
    """The first admin's sign-in email until they set their own (`.invalid`: never mail)."""
    return f"telegram-{telegram_id}@superadmin.invalid"


async def superadmin_owner(session: AsyncSession, telegram_id: int) -> Admin:
    """The owner account of the SUPERADMIN_TELEGRAM_ID person, made on their first /admin.

    On a fresh install nobody has run the CLI yet; the person the deployment
    names is let in through the bot. Made once: the unique Telegram id (and
    email) of `admins` decide a race of parallel /admin presses, the loser's
    insert fails inside its savepoint and it reads the winner's row. An admin
    row that already has this Telegram id is returned as it is, so an owner
    who deactivated it keeps it deactivated. Its password is random and never
    shown: the person signs in with the bot's one-time links.
    """
    existing = await find_by_telegram_id(session, telegram_id)
    if existing is not None:
        return existing
    unusable = await asyncio.to_thread(hash_password, secrets.token_urlsafe(32))
    admin = Admin(
        email=superadmin_email(telegram_id),
        password_hash=unusable,
        role=AdminRole.OWNER,
        telegram_id=telegram_id,
        is_active=True,
    )
    try:
        async with session.begin_nested():
            session.add(admin)
    except IntegrityError:
        winner = await find_by_telegram_id(session, telegram_id)
        if winner is None:
            raise
        return winner
    await audit.record(
        session,
        Actor.system("superadmin"),
        "admin.create",
        "admin",
        admin.id,
        after={"email": admin.email, "role": admin.role, "telegram_id": telegram_id},
    )
    return admin


async def authenticate(session: AsyncSession, email: str, password: str) -> Admin:
    """The active admin with these credentials; one error for every kind of mismatch."""
    admin = await find_by_email(session, email.strip())
    stored = admin.password_hash if admin else await asyncio.to_thread(dummy_hash)
    # bcrypt takes a quarter of a second on purpose: off the event loop, or a burst
    # of sign-in attempts would stall every other request of this process meanwhile.
    matches = await asyncio.to_thread(password_matches, password, stored)
    if not matches or admin is None or not admin.is_active:
        raise InvalidCredentials("wrong email or password")
    return admin


async def issue_login_token(session: AsyncSession, admin_id: int, *, now: datetime) -> str:
    admin = await session.get(Admin, admin_id)
    if admin is None or not admin.is_active:
        raise NotFound(f"admin {admin_id} does not exist or is inactive", entity="admin")
    token = secrets.token_urlsafe(32)
    session.add(
        AdminLoginToken(
            admin_id=admin_id,
            token_hash=_token_hash(token),
            expires_at=now + LOGIN_TOKEN_TTL,
            created_at=now,
        )
    )
    await session.flush()
    return token


async def consume_login_token(session: AsyncSession, token: str, *, now: datetime) -> Admin:
    """Trade a one-time token for its admin; a used, expired or unknown token fails alike."""
    token_hash = _token_hash(token)
    result = await session.execute(
        update(AdminLoginToken)
        .where(
            AdminLoginToken.token_hash == token_hash,
            AdminLoginToken.used_at.is_(None),
            AdminLoginToken.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        raise TokenInvalid("this login link is invalid, used or expired")
    admin = await session.scalar(
        select(Admin)
        .join(AdminLoginToken, AdminLoginToken.admin_id == Admin.id)
        .where(AdminLoginToken.token_hash == token_hash)
    )
    if admin is None or not admin.is_active:
        raise TokenInvalid("this login link is invalid, used or expired")
    return admin


async def forget_expired_login_tokens(
    session: AsyncSession, *, now: datetime, limit: int = 1000
) -> int:
    """Drop up to `limit` login links past their expiry, used or not; how many went.

    An expired link can never be used again (`consume_login_token` checks the
    expiry), so its row only takes room: one is written per link asked for.
    """
    return await delete_batch(
        session, AdminLoginToken.id, AdminLoginToken.expires_at <= now, limit=limit
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def change_access(
    session: AsyncSession,
    admin_id: int,
    *,
    role: AdminRole | None,
    is_active: bool | None,
    actor: Actor,
) -> Admin:
    """Change an admin's role or switch them off; nobody can lock themselves out."""
    admin = await session.get(Admin, admin_id, with_for_update=True)
    if admin is None:
        raise NotFound(f"admin {admin_id} does not exist", entity="admin")
    if admin.id == actor.id and (is_active is False or role not in (None, admin.role)):
        raise Conflict("you cannot demote or deactivate yourself", field="id")
    before = {"role": admin.role, "is_active": admin.is_active}
    if role is not None:
        admin.role = role
    if is_active is not None:
        admin.is_active = is_active
    await session.flush()
    after = {"role": admin.role, "is_active": admin.is_active}
    await audit.record(
        session, actor, "admin.update", "admin", admin.id, before=before, after=after
    )
    return admin
