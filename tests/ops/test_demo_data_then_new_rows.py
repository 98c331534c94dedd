"""After demo data, the shop adds rows of its own: their ids continue past the demo's.

The planner gives every demo row its id. SQLite and MariaDB move their
auto-increment counters past ids inserted; PostgreSQL's sequences do not,
so the loaders set them (`dialects.continue_ids`), or the first customer,
tag, segment or code made afterwards would collide with a demo row.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend import demo_data
from backend.domain import segments
from backend.domain.audit import Actor
from backend.domain.models import Customer, Discount
from tests.factories import make_customer, make_discount

ACTOR = Actor.system("after-demo")


async def test_rows_made_after_the_demo_data_get_new_ids(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await demo_data.generate(sessions, customers=40, seed=5)
    async with sessions() as session:
        last_customer = await session.scalar(select(func.max(Customer.id)))
        last_discount = await session.scalar(select(func.max(Discount.id)))

    async with sessions() as session, session.begin():
        customer = await make_customer(session, tags=["после-демо"])
        discount = await make_discount(session, customer)
        segment = await segments.create(session, "После демо", {"status": ["active"]}, actor=ACTOR)

    assert last_customer is not None and customer.id > last_customer
    assert last_discount is not None and discount.id > last_discount
    assert segment.id > 0


async def test_rows_made_after_the_volume_data_get_new_ids(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await demo_data.generate_volume(sessions, customers=30)
    async with sessions() as session, session.begin():
        customer = await make_customer(session)
        await make_discount(session, customer)
    async with sessions() as session:
        assert await session.scalar(select(func.count(Customer.id))) == 31
