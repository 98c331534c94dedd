"""The NUL check sees every shape of parameters: one row, many rows, a batched INSERT.

SQLAlchemy hands the statement hook a single row, a list of rows, or (for an
ORM flush of several objects, "insertmanyvalues") one flattened row marked
as many. Rows without a NUL must go in whatever the shape; one NUL anywhere
refuses the statement and the transaction keeps nothing.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain.clock import utcnow
from backend.domain.models import Customer, CustomerStatus, Tag
from backend.domain.nul_characters import TextWithNul
from tests.factories import next_telegram_id


def _customer(first_name: str) -> Customer:
    now = utcnow()  # a datetime and an int beside the text: a flattened row is not all text
    return Customer(
        telegram_id=next_telegram_id(),
        first_name=first_name,
        status=CustomerStatus.ACTIVE,
        created_at=now,
        last_seen_at=now,
    )


async def _customers(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Customer)) or 0)


async def _tags(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Tag)) or 0)


async def test_an_orm_flush_of_several_rows_goes_in_and_a_nul_among_them_refuses_all(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        session.add_all([_customer("Анна"), _customer("Борис"), _customer("Вера")])
    assert await _customers(sessions) == 3

    with pytest.raises(TextWithNul):
        async with sessions() as session, session.begin():
            session.add_all([_customer("Галина"), _customer("Дми\x00трий")])
    assert await _customers(sessions) == 3


async def test_a_many_row_insert_with_one_nul_is_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    rows = [{"name": "один"}, {"name": "два"}, {"name": "три\x00"}]
    with pytest.raises(TextWithNul):
        async with sessions() as session, session.begin():
            await session.execute(insert(Tag), rows)
    assert await _tags(sessions) == 0
