"""Reading a broadcast's delivery ledger and what the fake Bot API received, as the checks need.

The process and fault tests (shutdown, chaos, Redis restart) end with the
same question: did every recipient in the ledger get exactly one message?
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import broadcasts
from backend.domain.models import BroadcastDelivery, BroadcastStatus, Customer
from backend.fake_telegram import FakeTelegram
from tests.processes import Watched, wait_until
from tests.telegram_world import CUSTOMER_TOKEN

Sessions = async_sessionmaker[AsyncSession]
_D = BroadcastDelivery


async def count_deliveries(
    sessions: Sessions, broadcast_id: int, *where: ColumnElement[bool]
) -> int:
    """Ledger rows of the broadcast matching every condition in `where`."""
    async with sessions() as session:
        found = await session.scalar(
            select(func.count(_D.id)).where(_D.broadcast_id == broadcast_id, *where)
        )
    return int(found or 0)


async def recipients(sessions: Sessions, broadcast_id: int) -> list[int]:
    """The Telegram chat of every ledger row of the broadcast."""
    async with sessions() as session:
        return list(
            await session.scalars(
                select(Customer.telegram_id)
                .join(_D, _D.customer_id == Customer.id)
                .where(_D.broadcast_id == broadcast_id)
            )
        )


def by_messages_received(fake: FakeTelegram, chats: list[int], prefix: str = "") -> Counter[int]:
    """How many chats got 0, 1, 2… messages from the customer bot (texts starting `prefix`)."""
    return Counter(
        sum(
            1
            for message in fake.messages_to(chat, token=CUSTOMER_TOKEN)
            if message.method == "sendMessage" and (message.text or "").startswith(prefix)
        )
        for chat in chats
    )


async def until_completed(
    sessions: Sessions, broadcast_id: int, running: list[Watched], seconds: float
) -> None:
    """Wait until the broadcast is completed; fail at once if a watched process exits."""

    async def completed() -> bool:
        async with sessions() as session:
            stats = await broadcasts.stats(session, broadcast_id)
        return stats.status is BroadcastStatus.COMPLETED

    what = f"broadcast {broadcast_id} completed"
    await wait_until(completed, what, seconds=seconds, watch=running, every=0.2)
