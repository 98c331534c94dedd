"""Customers subscribe from the bot: one row, one welcome discount, whatever the race."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain import customers, discounts, shop_settings
from backend.domain.audit import Actor
from backend.domain.clock import utcnow, valid_through
from backend.domain.models import Customer, CustomerStatus, Discount, DiscountKind
from tests.factories import profile
from tests.statements import selects


async def count(session: AsyncSession, model: type[Customer] | type[Discount]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_new_customer_subscribes_and_gets_the_welcome_discount(
    session: AsyncSession,
) -> None:
    now = utcnow()
    result = await customers.subscribe(
        session, profile(first_name="Мария"), now=now, source="instagram"
    )
    await session.commit()

    assert result.is_new_customer
    assert result.customer.status is CustomerStatus.ACTIVE
    assert result.customer.source == "instagram"
    assert result.customer.marketing_consent_at == now
    assert result.discount is not None
    assert result.discount.kind is DiscountKind.SUBSCRIPTION
    assert result.discount.percent == 10
    assert result.discount.expires_at == valid_through(now, 30, ZoneInfo("Asia/Vladivostok"))


async def test_ten_parallel_starts_make_one_customer_and_one_discount(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    who = profile()
    start = asyncio.Event()

    async def press_start() -> bool:
        await start.wait()
        async with sessions() as session, session.begin():
            result = await customers.subscribe(session, who, now=utcnow())
            return result.discount is not None

    presses = [asyncio.create_task(press_start()) for _ in range(10)]
    await asyncio.sleep(0.05)
    start.set()
    got_discount = await asyncio.gather(*presses)

    assert got_discount.count(True) == 1
    async with sessions() as session:
        assert await count(session, Customer) == 1
        assert await count(session, Discount) == 1


async def test_resubscribing_never_gives_a_second_welcome_discount(session: AsyncSession) -> None:
    who = profile()
    first = await customers.subscribe(session, who, now=utcnow())
    await customers.unsubscribe(session, first.customer.id, now=utcnow())
    assert first.customer.status is CustomerStatus.UNSUBSCRIBED

    again = await customers.subscribe(session, who, now=utcnow())
    await session.commit()

    assert not again.is_new_customer
    assert again.customer.status is CustomerStatus.ACTIVE
    assert again.discount is None
    assert await count(session, Discount) == 1


async def test_welcome_discount_follows_the_shop_settings(session: AsyncSession) -> None:
    owner = Actor.system("owner")
    await shop_settings.set_value(session, "discount_percent_subscription", 7, owner)
    await shop_settings.set_value(session, "discount_valid_days_subscription", 5, owner)
    now = utcnow()

    result = await customers.subscribe(session, profile(), now=now)

    assert result.discount is not None
    assert result.discount.percent == 7
    assert result.discount.expires_at == valid_through(now, 5, ZoneInfo("Asia/Vladivostok"))


async def test_welcome_discount_can_be_switched_off(session: AsyncSession) -> None:
    await shop_settings.set_value(session, "subscription_discount_enabled", False, Actor.system())
    result = await customers.subscribe(session, profile(), now=utcnow())
    assert result.discount is None
    assert result.customer.status is CustomerStatus.ACTIVE


async def test_customer_who_blocked_the_bot_and_comes_back_is_active_again(
    session: AsyncSession,
) -> None:
    who = profile()
    first = await customers.subscribe(session, who, now=utcnow())
    await customers.mark_blocked(session, first.customer.id, now=utcnow())
    assert first.customer.status is CustomerStatus.BLOCKED

    again = await customers.subscribe(session, who, now=utcnow())
    assert again.customer.status is CustomerStatus.ACTIVE
    active = await discounts.active_for_customer(session, again.customer.id, now=utcnow())
    assert [d.kind for d in active] == [DiscountKind.SUBSCRIPTION]


async def test_a_returning_customers_start_reads_their_row_once_and_says_who_they_were(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Issue 19: /start found, refreshed and locked the row with three SELECTs; one now."""
    who = profile(first_name="Ольга")
    async with sessions() as session, session.begin():
        first = await customers.subscribe(session, who, now=utcnow())
    assert first.first_subscription and not first.was_active
    with selects(engine) as seen:
        async with sessions() as session, session.begin():
            again = await customers.subscribe(session, who, now=utcnow())
    reads_of_customers = [s for s in seen if "FROM customers" in s]
    assert len(reads_of_customers) == 1, reads_of_customers
    if engine.dialect.name != "sqlite":  # SQLite's writers lock the whole file instead
        assert "FOR UPDATE" in reads_of_customers[0]
    assert again.was_active and not again.first_subscription and not again.is_new_customer
