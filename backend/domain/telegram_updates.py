"""Each Telegram update is handled once, even when Telegram delivers it again.

Telegram re-sends an update when our answer is slow or lost; the (bot,
update_id) primary key turns the second insert into a no-op, so the handler
skips it. Every update pays for this check, so it is one statement:
`INSERT IGNORE` (MySQL/MariaDB) / `INSERT OR IGNORE` (SQLite) and its row
count, with no savepoint and no error to recover from.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import CursorResult, delete, insert
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
    result = await session.execute(
        insert(TelegramUpdate)
        .values(bot=bot, update_id=update_id, received_at=now)
        .prefix_with("IGNORE", dialect="mysql")
        .prefix_with("IGNORE", dialect="mariadb")
        .prefix_with("OR IGNORE", dialect="sqlite")
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


async def forget(session: AsyncSession, bot: str, update_id: int) -> None:
    """Delete the update's record: it was not handled after all (an outage stopped it), and
    Telegram, told so, will deliver it again."""
    await session.execute(
        delete(TelegramUpdate).where(
            TelegramUpdate.bot == bot, TelegramUpdate.update_id == update_id
        )
    )


async def forget_old(session: AsyncSession, *, now: datetime) -> int:
    result = await session.execute(
        delete(TelegramUpdate).where(TelegramUpdate.received_at < now - KEEP)
    )
    return int(getattr(result, "rowcount", 0))
