"""Admins issue discounts by hand; codes are typeable; the cabinet shows what is usable."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import codes, discounts
from backend.domain.audit import Actor
from backend.domain.clock import business_date, last_valid_day, utcnow
from backend.domain.errors import CodeExpired, NotFound, ValidationFailed
from backend.domain.models import (
    ActorKind,
    AuditEntry,
    Discount,
    DiscountKind,
    DiscountStatus,
)
from tests.factories import make_admin, make_cashier, make_customer, make_discount

VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")


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

    assert discount.percent == 25
    assert last_valid_day(discount.expires_at, VLADIVOSTOK) == business_date(
        now, VLADIVOSTOK
    ) + timedelta(days=3)
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


async def test_a_code_shown_as_valid_until_the_20th_is_accepted_at_23_59_on_the_20th_vladivostok_time_and_refused_at_00_00_on_the_21st(  # noqa: E501
    session: AsyncSession,
) -> None:
    customer = await make_customer(session)
    cashier = await make_cashier(session)
    # 09:00 on 6 December in Vladivostok, the birthday job's hour; 14 days.
    issued_at = datetime(2026, 12, 6, 9, 0, tzinfo=VLADIVOSTOK)
    late = await make_discount(session, customer, issued_at=issued_at, valid_days=14)
    too_late = await make_discount(session, customer, issued_at=issued_at, valid_days=14)

    # What the customer's message and the till both show.
    assert last_valid_day(late.expires_at, VLADIVOSTOK) == date(2026, 12, 20)
    assert last_valid_day(too_late.expires_at, VLADIVOSTOK) == date(2026, 12, 20)

    last_minute = datetime(2026, 12, 20, 23, 59, 59, tzinfo=VLADIVOSTOK)
    assert await discounts.expire_due(session, now=last_minute) == 0
    assert [
        d.id for d in await discounts.active_for_customer(session, customer.id, now=last_minute)
    ] == [late.id, too_late.id]
    redeemed = await discounts.redeem(session, late.code, cashier, now=last_minute)
    assert redeemed.status is DiscountStatus.REDEEMED

    midnight = datetime(2026, 12, 21, 0, 0, tzinfo=VLADIVOSTOK)
    with pytest.raises(CodeExpired):
        await discounts.lookup(session, too_late.code, now=midnight)
    with pytest.raises(CodeExpired):
        await discounts.redeem(session, too_late.code, cashier, now=midnight)
    assert await discounts.active_for_customer(session, customer.id, now=midnight) == []
    assert await discounts.expire_due(session, now=midnight) == 1
    await session.refresh(too_late)
    assert too_late.status is DiscountStatus.EXPIRED


async def test_validity_counts_business_days_whatever_the_hour_of_issue(
    session: AsyncSession,
) -> None:
    customer = await make_customer(session)
    # 23:30 UTC on the 5th is already 09:30 on the 6th in Vladivostok.
    early = await make_discount(
        session, customer, issued_at=datetime(2026, 12, 5, 23, 30, tzinfo=UTC), valid_days=1
    )
    # 13:59 UTC on the 6th is 23:59 on the 6th there: still one whole day more.
    late = await make_discount(
        session, customer, issued_at=datetime(2026, 12, 6, 13, 59, tzinfo=UTC), valid_days=1
    )

    assert early.expires_at == late.expires_at == datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
