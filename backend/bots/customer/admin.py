"""/admin: a one-time login link to the admin SPA, for the shop's admins only.

Anyone else gets the ordinary help, so the command reveals nothing. The
person named by SUPERADMIN_TELEGRAM_ID gets an admin row made on first use,
so a fresh install can be signed into before anyone runs the CLI.
"""

from __future__ import annotations

from datetime import datetime

from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.bots.texts import reply
from backend.bots.transactions import in_transaction
from backend.domain import admins
from backend.domain.clock import utcnow
from backend.domain.models import Admin
from backend.settings import Settings
from backend.telegram.texts import Texts


async def admin_link(
    message: Message,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    texts: Texts,
) -> None:
    """A one-time SPA login link for admins; everyone else gets the ordinary help."""
    if message.from_user is None:
        return
    token = await in_transaction(
        sessions,
        login_token,
        message.from_user.id,
        superadmin_telegram_id=settings.superadmin_telegram_id,
        now=utcnow(),
    )
    if token is None:
        await reply(message, await texts.get("help"))
        return
    link = f"{settings.admin_spa_url}/login?token={token}"
    minutes = int(admins.LOGIN_TOKEN_TTL.total_seconds() // 60)
    await reply(message, await texts.get("admin_login_link", link=link, minutes=minutes))


async def login_token(
    session: AsyncSession,
    telegram_id: int,
    *,
    superadmin_telegram_id: int | None,
    now: datetime,
) -> str | None:
    """A login token for the sender if they are an active admin."""
    admin = await admin_for(session, telegram_id, superadmin_telegram_id)
    return await admins.issue_login_token(session, admin.id, now=now) if admin else None


async def admin_for(
    session: AsyncSession, telegram_id: int, superadmin_telegram_id: int | None
) -> Admin | None:
    """The sender's active admin row; the SUPERADMIN_TELEGRAM_ID person gets one made."""
    admin: Admin | None
    if telegram_id == superadmin_telegram_id:
        admin = await admins.superadmin_owner(session, telegram_id)
    else:
        admin = await admins.find_by_telegram_id(session, telegram_id)
    return admin if admin is not None and admin.is_active else None
