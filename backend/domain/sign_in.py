"""Signing admins in and out: password throttling and revoked tokens.

Throttling is race-proof by construction: every attempt is first written and
committed as a failure, then counted. The n-th attempt to commit sees at least
n attempts, so no burst of parallel guesses gets more than
`MAX_FAILURES` password checks per window. A success flips its own row.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import admins
from backend.domain.errors import Throttled
from backend.domain.models import Admin, LoginAttempt, RevokedToken

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)


async def sign_in(
    sessions: async_sessionmaker[AsyncSession], email: str, password: str, *, now: datetime
) -> Admin:
    """The admin for these credentials, unless this email is throttled (Throttled)."""
    key = email.strip().lower()[:255]
    async with sessions() as session, session.begin():
        attempt = LoginAttempt(email=key, at=now, succeeded=False)
        session.add(attempt)
    async with sessions() as session, session.begin():
        failures, oldest = (
            await session.execute(
                select(func.count(), func.min(LoginAttempt.at)).where(
                    LoginAttempt.email == key,
                    LoginAttempt.at > now - WINDOW,
                    LoginAttempt.succeeded.is_(False),
                    LoginAttempt.id <= attempt.id,
                )
            )
        ).one()
        if failures > MAX_FAILURES:
            free_at = (oldest.replace(tzinfo=now.tzinfo) if oldest else now) + WINDOW
            wait = max(1, int((free_at - now).total_seconds()) + 1)
            raise Throttled(
                f"too many failed sign-ins for this email; try again in {wait} seconds",
                retry_after_seconds=wait,
            )
        admin = await admins.authenticate(session, email, password)
        await session.execute(
            update(LoginAttempt).where(LoginAttempt.id == attempt.id).values(succeeded=True)
        )
        return admin


async def revoke(session: AsyncSession, jti: str, *, expires_at: datetime) -> None:
    """Refuse this token from now on (idempotent)."""
    try:
        async with session.begin_nested():
            session.add(RevokedToken(jti=jti, expires_at=expires_at))
    except IntegrityError:
        return


async def active_admin(session: AsyncSession, admin_id: int, jti: str) -> Admin | None:
    """The token's admin if it is active and the token is not revoked: one statement."""
    revoked = select(RevokedToken.jti).where(RevokedToken.jti == jti).exists()
    result = await session.scalars(
        select(Admin).where(Admin.id == admin_id, Admin.is_active.is_(True), ~revoked)
    )
    return result.first()


async def forget_expired(session: AsyncSession, *, now: datetime) -> int:
    """Housekeeping: drop revocations and attempts nobody needs any more."""
    tokens = await session.execute(delete(RevokedToken).where(RevokedToken.expires_at <= now))
    attempts = await session.execute(delete(LoginAttempt).where(LoginAttempt.at <= now - WINDOW))
    return int(getattr(tokens, "rowcount", 0)) + int(getattr(attempts, "rowcount", 0))
