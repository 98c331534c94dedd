"""Each Telegram update is handled once, even when Telegram delivers it again.

Telegram re-sends an update when our answer is slow or lost; the (bot,
update_id) primary key turns the second insert into a no-op, so the handler
skips it. Every update pays for this check, so it is one statement:
`INSERT IGNORE` (MySQL/MariaDB) / `INSERT OR IGNORE` (SQLite) / `ON CONFLICT
DO NOTHING` (PostgreSQL) and its row count, with no savepoint and no error to
recover from.

Every update adds a row, so the hourly clean-up (`forget_old`) drops those
received before `TELEGRAM_UPDATES_KEEP_HOURS` (48 by default): longer than the
day Telegram keeps re-sending an update, so a forgotten id is never seen again.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.dialects import insert_ignoring_duplicates
from backend.domain.models import TelegramUpdate

# TELEGRAM_UPDATES_KEEP_HOURS' default. The clean-up follows the setting; this bounds
# what a process keeps in memory about an update (`bots.update_claims.AbandonedClaims`),
# past Telegram's day of redelivery either way.
KEEP = timedelta(hours=48)
FORGET_BATCH = 1000  # update ids dropped per transaction by `forget_old`

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
        insert_ignoring_duplicates(TelegramUpdate, session.get_bind().dialect.name).values(
            bot=bot, update_id=update_id, received_at=now
        )
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


async def forget_old(session: AsyncSession, *, before: datetime, limit: int = FORGET_BATCH) -> int:
    """Drop up to `limit` update ids received before `before`, oldest first; how many went.

    Picked through the `received_at` index and deleted by key, so a busy
    day's backlog goes in short transactions (the caller loops) instead of one
    long DELETE holding locks on the table every webhook writes to.
    """
    found = await session.execute(
        select(TelegramUpdate.bot, TelegramUpdate.update_id)
        .where(TelegramUpdate.received_at < before)
        .order_by(TelegramUpdate.received_at)
        .limit(limit)
    )
    by_bot: defaultdict[str, list[int]] = defaultdict(list)
    for bot, update_id in found:
        by_bot[bot].append(update_id)
    for bot, ids in sorted(by_bot.items()):
        await session.execute(
            delete(TelegramUpdate).where(
                TelegramUpdate.bot == bot, TelegramUpdate.update_id.in_(sorted(ids))
            )
        )
    return sum(len(ids) for ids in by_bot.values())
