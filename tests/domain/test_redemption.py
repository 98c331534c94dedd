"""Cashiers redeem codes at the till: once, and never an expired or cancelled one."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain import discounts
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.errors import (
    CashierInactive,
    CodeAlreadyRedeemed,
    CodeCancelled,
    CodeExpired,
    CodeNotFound,
    DiscountNotActive,
    DomainError,
    ErrorCode,
)
from backend.domain.models import AuditEntry, Cashier, Discount, DiscountStatus
from tests.factories import make_cashier, make_customer, make_discount


async def arrange_code(session: AsyncSession, **discount_fields: object) -> tuple[str, Cashier]:
    customer = await make_customer(session)
    discount = await make_discount(session, customer, **discount_fields)  # type: ignore[arg-type]
    cashier = await make_cashier(session)
    await session.commit()
    return discount.code, cashier


async def warm_up_connections(engine: AsyncEngine, count: int) -> None:
    """Open the pool's connections first, so the racers start together, not staggered."""
    opened = await asyncio.gather(*(engine.connect().start() for _ in range(count)))
    await asyncio.gather(*(connection.close() for connection in opened))


async def test_cashier_redeems_a_code_with_the_purchase_amount(session: AsyncSession) -> None:
    code, cashier = await arrange_code(session)
    now = utcnow()

    typed = f"{code[:4].lower()}-{code[4:]}"
    redeemed = await discounts.redeem(
        session, typed, cashier, now=now, purchase_amount=Decimal("1250.50")
    )
    await session.commit()

    assert redeemed.status is DiscountStatus.REDEEMED
    assert redeemed.cashier_id == cashier.id
    assert redeemed.store == cashier.store
    assert redeemed.purchase_amount == Decimal("1250.50")
    assert redeemed.redeemed_at == now
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "discount.redeem"))
    assert entry is not None and entry.actor_id == cashier.id


async def test_cashier_redeems_a_code_twice(session: AsyncSession) -> None:
    code, cashier = await arrange_code(session)
    await discounts.redeem(session, code, cashier, now=utcnow())
    await session.commit()

    with pytest.raises(CodeAlreadyRedeemed) as caught:
        await discounts.redeem(session, code, cashier, now=utcnow())
    assert caught.value.code is ErrorCode.CODE_ALREADY_REDEEMED


async def test_fifty_tills_redeem_one_code_at_once(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        code, cashier = await arrange_code(session)
    await warm_up_connections(engine, 50)
    start = asyncio.Event()

    async def till() -> str:
        await start.wait()
        try:
            async with sessions() as session, session.begin():
                await discounts.redeem(session, code, cashier, now=utcnow())
        except DomainError as error:
            return error.code.value
        return "ok"

    tills = [asyncio.create_task(till()) for _ in range(50)]
    await asyncio.sleep(0.05)
    start.set()
    outcomes = await asyncio.gather(*tills)

    assert outcomes.count("ok") == 1
    assert outcomes.count(ErrorCode.CODE_ALREADY_REDEEMED.value) == 49
    async with sessions() as session:
        discount = await session.scalar(select(Discount).where(Discount.code == code))
        redemptions = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "discount.redeem")
        )
    assert discount is not None and discount.status is DiscountStatus.REDEEMED
    assert redemptions == 1


async def test_expired_code_is_refused_and_stays_unredeemed(session: AsyncSession) -> None:
    code, cashier = await arrange_code(session, issued_at=utcnow() - timedelta(days=31))

    with pytest.raises(CodeExpired):
        await discounts.lookup(session, code, now=utcnow())
    with pytest.raises(CodeExpired):
        await discounts.redeem(session, code, cashier, now=utcnow())
    await session.rollback()
    discount = await session.scalar(select(Discount).where(Discount.code == code))
    assert discount is not None and discount.redeemed_at is None


async def test_code_marked_expired_by_the_nightly_job_is_refused(session: AsyncSession) -> None:
    code, cashier = await arrange_code(session, issued_at=utcnow() - timedelta(days=40))
    assert await discounts.expire_due(session, now=utcnow()) == 1
    await session.commit()

    with pytest.raises(CodeExpired) as caught:
        await discounts.redeem(session, code, cashier, now=utcnow())
    assert caught.value.code is ErrorCode.CODE_EXPIRED


async def test_cancelled_code_is_refused(session: AsyncSession) -> None:
    code, cashier = await arrange_code(session)
    discount = await discounts.find_by_code(session, code)
    await discounts.cancel(
        session, discount.id, actor=Actor.system(), now=utcnow(), reason="ошибка"
    )
    await session.commit()

    with pytest.raises(CodeCancelled) as caught:
        await discounts.redeem(session, code, cashier, now=utcnow())
    assert caught.value.code is ErrorCode.CODE_CANCELLED
    with pytest.raises(DiscountNotActive):
        await discounts.cancel(
            session, discount.id, actor=Actor.system(), now=utcnow(), reason=None
        )


async def test_unknown_or_malformed_code_is_not_found(session: AsyncSession) -> None:
    _, cashier = await arrange_code(session)
    for typed in ("ZZZZZZZZ", "O0O0O0O0", "", "ABC", "'; DROP TABLE discounts; --"):
        with pytest.raises(CodeNotFound):
            await discounts.redeem(session, typed, cashier, now=utcnow())


async def test_deactivated_cashier_cannot_redeem(session: AsyncSession) -> None:
    customer = await make_customer(session)
    discount = await make_discount(session, customer)
    cashier = await make_cashier(session, active=False)
    await session.commit()

    with pytest.raises(CashierInactive):
        await discounts.redeem(session, discount.code, cashier, now=utcnow())
    await session.refresh(discount)
    assert discount.status is DiscountStatus.ACTIVE
