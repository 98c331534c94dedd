"""Admins log in, login links work once, cashiers join with an invite code."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import bcrypt
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import admins, cashiers
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.errors import (
    Conflict,
    DomainError,
    InvalidCredentials,
    InviteInvalid,
    TokenInvalid,
    ValidationFailed,
)
from backend.domain.models import AdminRole
from tests.factories import make_admin


async def test_admin_logs_in_with_email_in_any_case(session: AsyncSession) -> None:
    await make_admin(session, email="olga@dvorik.test", password="correct horse battery")
    admin = await admins.authenticate(session, "  OLGA@dvorik.test", "correct horse battery")
    assert admin.email == "olga@dvorik.test"


async def test_wrong_password_and_unknown_email_look_the_same(session: AsyncSession) -> None:
    await make_admin(session, email="olga@dvorik.test")
    with pytest.raises(InvalidCredentials) as wrong_password:
        await admins.authenticate(session, "olga@dvorik.test", "guess")
    with pytest.raises(InvalidCredentials) as unknown:
        await admins.authenticate(session, "nobody@dvorik.test", "guess")
    assert wrong_password.value.message == unknown.value.message


async def test_passwords_are_stored_as_bcrypt(session: AsyncSession) -> None:
    admin = await admins.create(
        session, "new@dvorik.test", "a long password", AdminRole.READONLY, actor=Actor.system()
    )
    assert admin.password_hash.startswith(admins.PREHASHED + "$2b$12$")
    assert "a long password" not in admin.password_hash
    with pytest.raises(Conflict):
        await admins.create(
            session, "NEW@dvorik.test", "a long password", AdminRole.OWNER, actor=Actor.system()
        )
    with pytest.raises(ValidationFailed):
        await admins.create(
            session, "not an email", "a long password", AdminRole.OWNER, actor=Actor.system()
        )


PASSPHRASE = "мармеладный дворик лучший магазин сладостей владивостока"  # 104 bytes


async def test_a_long_cyrillic_passphrase_works_and_every_byte_counts(
    session: AsyncSession,
) -> None:
    assert len(PASSPHRASE.encode()) > admins.BCRYPT_MAX_BYTES
    await admins.create(
        session, "long@dvorik.test", PASSPHRASE, AdminRole.OWNER, actor=Actor.system()
    )
    admin = await admins.authenticate(session, "long@dvorik.test", PASSPHRASE)
    assert admin.email == "long@dvorik.test"
    # Past bcrypt's 72 bytes still counts: the same start with another ending is refused.
    with pytest.raises(InvalidCredentials):
        await admins.authenticate(session, "long@dvorik.test", PASSPHRASE[:-1] + "ы")


async def test_a_plain_bcrypt_hash_from_before_still_signs_in(session: AsyncSession) -> None:
    """Hashes made before pre-hashing: bcrypt over the password's first 72 bytes."""
    admin = await make_admin(session, email="old@dvorik.test")
    plain = bcrypt.hashpw(PASSPHRASE.encode()[:72], bcrypt.gensalt(4)).decode()
    admin.password_hash = plain
    await session.flush()
    assert (await admins.authenticate(session, "old@dvorik.test", PASSPHRASE)).id == admin.id
    with pytest.raises(InvalidCredentials):
        await admins.authenticate(session, "old@dvorik.test", "correct horse battery")


async def test_login_link_works_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        admin = await make_admin(session)
        token = await admins.issue_login_token(session, admin.id, now=utcnow())

    async def use_link() -> str:
        try:
            async with sessions() as session, session.begin():
                return (await admins.consume_login_token(session, token, now=utcnow())).email
        except DomainError as error:
            return error.code.value

    outcomes = await asyncio.gather(*(use_link() for _ in range(5)))
    assert outcomes.count(admin.email) == 1
    assert outcomes.count("TOKEN_INVALID") == 4


async def test_expired_login_link_is_refused(session: AsyncSession) -> None:
    admin = await make_admin(session)
    token = await admins.issue_login_token(session, admin.id, now=utcnow() - timedelta(hours=1))
    with pytest.raises(TokenInvalid):
        await admins.consume_login_token(session, token, now=utcnow())


async def test_cashier_joins_with_the_invite_code_once(session: AsyncSession) -> None:
    owner = await make_admin(session)
    cashier, code = await cashiers.invite(
        session, "Ольга", "Светланская, 33", actor=Actor.admin(owner.id), now=utcnow()
    )

    joined = await cashiers.join(session, code.lower(), 555_000_111, now=utcnow())
    assert joined.id == cashier.id
    assert await cashiers.find_by_telegram_id(session, 555_000_111) is not None
    with pytest.raises(InviteInvalid):
        await cashiers.join(session, code, 555_000_222, now=utcnow())


async def test_expired_invite_is_refused(session: AsyncSession) -> None:
    _, code = await cashiers.invite(
        session, "Ольга", "Алеутская, 17", actor=Actor.system(), now=utcnow() - timedelta(days=4)
    )
    with pytest.raises(InviteInvalid):
        await cashiers.join(session, code, 555_000_333, now=utcnow())
