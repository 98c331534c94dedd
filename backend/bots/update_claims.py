"""Each Telegram update is handled once per bot, however often it is delivered.

Telegram re-sends an update it thinks was lost, and two processes may both
receive it. The first to record (bot, update_id) handles it; the others stop
(`backend.domain.telegram_updates`). The webhook hands every update its claim
(`backend.bots.webhooks`), and the dispatchers take it before any handler runs
(`claim_first`) unless a handler takes it inside its own transaction.

An update that met an outage is given back (`UpdateClaim.release`): its
record is deleted, so Telegram's redelivery (the webhook answered 503) is
handled as a first delivery, and once. When the database that holds the
record is the one that is down, the record cannot be deleted; the process
then remembers the update (`AbandonedClaims`) and takes its redelivery as a
first one all the same.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiogram.dispatcher.flags import get_flag
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import telegram_updates
from backend.outages import describe

log = logging.getLogger("dvorik.bots.updates")


@dataclass
class AbandonedClaims:
    """Updates this process claimed but could neither finish nor give back (the database was
    down for both): their records stay, and a redelivery of one here counts as a first one.

    In memory: `compose.yaml` runs one API process, which sees its own
    redeliveries. With several behind a proxy, a redelivery that reaches
    another process is skipped as a duplicate; the warning logged at the
    release names the update. Entries go when the update is finally handled,
    or after `telegram_updates.KEEP`, when the record itself is deleted.
    """

    since: dict[tuple[str, int], datetime] = field(default_factory=dict)

    def add(self, bot: str, update_id: int, now: datetime) -> None:
        fresh = now - telegram_updates.KEEP
        self.since = {key: at for key, at in self.since.items() if at > fresh}
        self.since[(bot, update_id)] = now

    def __contains__(self, key: tuple[str, int]) -> bool:
        return key in self.since

    def discard(self, bot: str, update_id: int) -> None:
        self.since.pop((bot, update_id), None)


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
    abandoned: AbandonedClaims = field(default_factory=AbandonedClaims)
    asked: bool = False
    taken: bool = False  # this delivery wrote the record (or reclaimed an abandoned one)

    async def take(self, session: AsyncSession) -> bool:
        """Record the update in `session`'s transaction; False if it was handled before."""
        self.asked = True
        first = await telegram_updates.first_time(
            session, self.bot, self.update_id, now=self.received_at
        )
        self.taken = first or (self.bot, self.update_id) in self.abandoned
        return self.taken

    async def take_alone(self) -> bool:
        async with self.sessions() as session, session.begin():
            return await self.take(session)

    async def release(self) -> None:
        """Give the update back after an outage: delete its record, or if that fails too,
        remember it as abandoned, so that its redelivery is handled."""
        if not self.taken:
            return
        try:
            async with self.sessions() as session, session.begin():
                await telegram_updates.forget(session, self.bot, self.update_id)
        except Exception as error:  # the database is still down: remember it here
            self.abandoned.add(self.bot, self.update_id, self.received_at)
            log.warning(
                "update %s of the %s bot met an outage and could not be given back (%s);"
                " only this process will handle its redelivery",
                self.update_id,
                self.bot,
                describe(error),
            )

    def settled(self) -> None:
        """The update was handled (or answered, and so will not be redelivered)."""
        self.abandoned.discard(self.bot, self.update_id)


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
