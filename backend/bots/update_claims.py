"""Each Telegram update is handled once per bot, however often it is delivered.

Telegram re-sends an update it thinks was lost, and two processes may both
receive it. The first to record (bot, update_id) handles it; the others stop
(`backend.domain.telegram_updates`). The webhook hands every update its claim
(`backend.bots.webhooks`), and the dispatchers take it before any handler runs
(`claim_first`) unless a handler takes it inside its own transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiogram.dispatcher.flags import get_flag
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import telegram_updates


@dataclass
class UpdateClaim:
    """The right to handle one update, taken once per (bot, update_id).

    Most handlers have it taken for them before they run, in a transaction
    of its own (`claim_first`). A handler flagged `claims_update` takes it
    inside its own write transaction instead: its work and the record commit
    together (one commit, so one disk flush less per update), a duplicate
    delivery waits for the first one's lock and then backs out, and if the
    work rolls back, so does the record, so a re-sent update is handled anew.
    Such a handler must take it before it answers anyone, also when its
    transaction failed (`take_alone`).
    """

    sessions: async_sessionmaker[AsyncSession]
    bot: str
    update_id: int
    received_at: datetime
    asked: bool = False

    async def take(self, session: AsyncSession) -> bool:
        """Record the update in `session`'s transaction; False if it was handled before."""
        self.asked = True
        return await telegram_updates.first_time(
            session, self.bot, self.update_id, now=self.received_at
        )

    async def take_alone(self) -> bool:
        async with self.sessions() as session, session.begin():
            return await self.take(session)


async def claim_first(
    handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
    event: TelegramObject,
    data: dict[str, Any],
) -> Any:
    """Inner middleware: take the update's claim before the chosen handler runs,
    unless the handler takes it itself; a duplicate goes no further."""
    claim = data.get("update_claim")
    if not isinstance(claim, UpdateClaim) or get_flag(data, "claims_update"):
        return await handler(event, data)
    if not await claim.take_alone():
        return None
    return await handler(event, data)
