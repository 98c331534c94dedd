"""An audience of identical subscribers, for the tests and benchmarks of broadcasts and load."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain.models import Customer, CustomerStatus


async def add_subscribers(
    sessions: async_sessionmaker[AsyncSession],
    count: int,
    *,
    first_telegram_id: int = 6_000_000_000,
    chunk: int = 5000,
) -> None:
    """`count` plain active customers who consented to marketing, in bulk, in one transaction.

    Not a believable shop: an audience of identical subscribers (telegram ids
    from `first_telegram_id` on), for the tests and benchmarks of broadcasts
    and of load, where only how many there are matters.
    """
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        for start in range(0, count, chunk):
            rows = [
                {
                    "telegram_id": first_telegram_id + number,
                    "first_name": f"Покупатель {number}",
                    "status": CustomerStatus.ACTIVE,
                    "marketing_consent_at": now,
                    "subscribed_at": now,
                    "last_seen_at": now,
                }
                for number in range(start, min(count, start + chunk))
            ]
            await session.execute(insert(Customer), rows)
