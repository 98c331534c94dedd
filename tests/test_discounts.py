"""Admins issue discounts by hand; codes are typeable; the cabinet shows what is usable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import codes, discounts
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.errors import NotFound, ValidationFailed
from backend.domain.models import (
    ActorKind,
    AuditEntry,
    Discount,
    DiscountKind,
    DiscountStatus,
)
from tests.factories import make_admin, make_customer, make_discount


async def test_marketer_issues_a_manual_discount_with_a_reason(session: AsyncSession) -> None:
    admin = await make_admin(session)
    customer = await make_customer(session)
    now = utcnow()

    discount = await discounts.issue(
        session,
        customer.id,
        discounts.IssueRequest(
            DiscountKind.MANUAL, percent=25, valid_days=3, reason="Извинения за задержку заказа"
        ),
        actor=Actor.admin(admin.id, admin.email),
        now=now,
    )

    assert (discount.percent, discount.expires_at) == (25, now + timedelta(days=3))
    assert (discount.issued_by_kind, discount.issued_by_admin_id) == (ActorKind.ADMIN, admin.id)
    assert len(discount.code) == codes.CODE_LENGTH
    assert set(discount.code) <= set(codes.ALPHABET)
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "discount.issue"))
    assert entry is not None and entry.actor_id == admin.id
    assert entry.after is not None and entry.after["percent"] == 25


@pytest.mark.parametrize("reason", [None, "", "   "])
async def test_manual_discount_without_a_reason_is_refused(
    session: AsyncSession, reason: str | None
) -> None:
    customer = await make_customer(session)
    with pytest.raises(ValidationFailed, match="reason"):
        await discounts.issue(
            session,
            customer.id,
            discounts.IssueRequest(DiscountKind.MANUAL, reason=reason),
            actor=Actor.system(),
            now=utcnow(),
        )
    assert await session.scalar(select(func.count()).select_from(Discount)) == 0


async def test_discount_for_a_missing_customer_or_bad_percent_is_refused(
    session: AsyncSession,
) -> None:
    with pytest.raises(NotFound):
        await discounts.issue(
            session,
            404,
            discounts.IssueRequest(DiscountKind.PROMO),
            actor=Actor.system(),
            now=utcnow(),
        )
    customer = await make_customer(session)
    with pytest.raises(ValidationFailed):
        await discounts.issue(
            session,
            customer.id,
            discounts.IssueRequest(DiscountKind.PROMO, percent=150),
            actor=Actor.system(),
            now=utcnow(),
        )


async def test_cabinet_lists_only_usable_discounts_soonest_first(session: AsyncSession) -> None:
    customer = await make_customer(session)
    later = await make_discount(session, customer, valid_days=30)
    sooner = await make_discount(session, customer, valid_days=5)
    await make_discount(session, customer, status=DiscountStatus.REDEEMED)
    await make_discount(session, customer, issued_at=utcnow() - timedelta(days=40))

    usable = await discounts.active_for_customer(session, customer.id, now=utcnow())

    assert [d.id for d in usable] == [sooner.id, later.id]


def test_typed_codes_are_forgiving_but_strict() -> None:
    assert codes.normalize_code("abcd efgh") == "ABCDEFGH"
    assert codes.normalize_code("ABCD-EFGH") == "ABCDEFGH"
    assert codes.normalize_code("ABCDEFG0") is None  # 0 is not in the alphabet
    assert codes.normalize_code("ABCDEFGHJ") is None
    drawn = {codes.generate_code() for _ in range(1000)}
    assert len(drawn) == 1000
    assert all(set(code) <= set(codes.ALPHABET) for code in drawn)
    assert not set("0O1IL") & set(codes.ALPHABET)
