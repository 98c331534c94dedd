"""Each Telegram update is handled once, even when Telegram delivers it again.

Telegram re-sends an update when our answer is slow or lost; the (bot,
update_id) primary key makes the second insert fail, so the handler skips it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.models import TelegramUpdate

KEEP = timedelta(days=2)


# The update_id column is a signed BIGINT; Telegram's ids are far inside it.
_STORABLE = range(-(2**63), 2**63)


async def first_time(session: AsyncSession, bot: str, update_id: int, *, now: datetime) -> bool:
    """Record the update; False if this bot has seen it before.

    Also False for an id outside the column's range: Telegram never sends
    one, so it is junk to ignore (a 2xx, or Telegram would re-send), not a
    database overflow to crash on.
    """
    if update_id not in _STORABLE:
        return False
    try:
        async with session.begin_nested():
            session.add(TelegramUpdate(bot=bot, update_id=update_id, received_at=now))
    except IntegrityError:
        return False
    return True


async def forget_old(session: AsyncSession, *, now: datetime) -> int:
    result = await session.execute(
        delete(TelegramUpdate).where(TelegramUpdate.received_at < now - KEEP)
    )
    return int(getattr(result, "rowcount", 0))
