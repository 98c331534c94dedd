"""Birthday discounts: judged on the shop's calendar, once per customer per year."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import birthdays, shop_settings
from backend.domain.audit import Actor
from backend.domain.models import Customer, CustomerStatus, Discount, DiscountKind
from tests.factories import make_customer

VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")


async def birthday_discounts(session: AsyncSession, customer: Customer) -> list[Discount]:
    result = await session.scalars(
        select(Discount).where(
            Discount.customer_id == customer.id, Discount.kind == DiscountKind.BIRTHDAY
        )
    )
    return list(result)


async def test_the_day_is_judged_in_vladivostok(session: AsyncSession) -> None:
    born_on_the_10th = await make_customer(session, birthday=date(1990, 3, 10))
    born_on_the_9th = await make_customer(session, birthday=date(1990, 3, 9))
    # 15:30 UTC on the 9th is 01:30 on the 10th in Vladivostok.
    now = datetime(2026, 3, 9, 15, 30, tzinfo=UTC)

    issued = await birthdays.give_birthday_discounts(session, now=now, zone=VLADIVOSTOK)

    assert issued == 1
    assert len(await birthday_discounts(session, born_on_the_10th)) == 1
    assert await birthday_discounts(session, born_on_the_9th) == []


async def test_leap_day_birthday_is_celebrated_on_28_february_in_common_years(
    session: AsyncSession,
) -> None:
    leapling = await make_customer(session, birthday=date(2000, 2, 29))
    common_year_28th = datetime(2027, 2, 28, 0, 0, tzinfo=UTC)  # 10:00 in Vladivostok

    assert (
        await birthdays.give_birthday_discounts(session, now=common_year_28th, zone=VLADIVOSTOK)
        == 1
    )
    [discount] = await birthday_discounts(session, leapling)
    assert discount.once_key == "birthday:2027"


async def test_leap_day_birthday_waits_for_29_february_in_leap_years(
    session: AsyncSession,
) -> None:
    leapling = await make_customer(session, birthday=date(2000, 2, 29))

    on_28th = datetime(2028, 2, 28, 0, 0, tzinfo=UTC)
    assert await birthdays.give_birthday_discounts(session, now=on_28th, zone=VLADIVOSTOK) == 0
    on_29th = datetime(2028, 2, 29, 0, 0, tzinfo=UTC)
    assert await birthdays.give_birthday_discounts(session, now=on_29th, zone=VLADIVOSTOK) == 1
    assert len(await birthday_discounts(session, leapling)) == 1


async def test_second_run_on_the_same_day_issues_nothing(session: AsyncSession) -> None:
    customer = await make_customer(session, birthday=date(1985, 12, 1))
    morning = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)  # 09:00 on 1 December there
    evening = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    assert await birthdays.give_birthday_discounts(session, now=morning, zone=VLADIVOSTOK) == 1
    assert await birthdays.give_birthday_discounts(session, now=evening, zone=VLADIVOSTOK) == 0
    assert len(await birthday_discounts(session, customer)) == 1


async def test_next_year_brings_a_new_birthday_discount(session: AsyncSession) -> None:
    customer = await make_customer(session, birthday=date(1985, 6, 1))
    for year in (2026, 2027):
        now = datetime(year, 6, 1, 0, 0, tzinfo=UTC)
        assert await birthdays.give_birthday_discounts(session, now=now, zone=VLADIVOSTOK) == 1
    keys = sorted(d.once_key or "" for d in await birthday_discounts(session, customer))
    assert keys == ["birthday:2026", "birthday:2027"]


async def test_only_subscribed_customers_get_birthday_discounts(session: AsyncSession) -> None:
    await make_customer(session, birthday=date(1990, 5, 5), status=CustomerStatus.UNSUBSCRIBED)
    await make_customer(session, birthday=date(1990, 5, 5), status=CustomerStatus.BLOCKED)
    now = datetime(2026, 5, 5, 0, 0, tzinfo=UTC)
    assert await birthdays.give_birthday_discounts(session, now=now, zone=VLADIVOSTOK) == 0


async def test_discount_given_days_ahead_across_new_year(session: AsyncSession) -> None:
    await shop_settings.set_value(session, "birthday_days_before", 3, Actor.system())
    customer = await make_customer(session, birthday=date(1999, 1, 2))
    # The customer got last year's discount on 2 January 2026.
    last_year = datetime(2026, 1, 1, 23, 0, tzinfo=UTC)
    assert await birthdays.give_birthday_discounts(session, now=last_year, zone=VLADIVOSTOK) == 1

    on_30_december = datetime(2026, 12, 30, 0, 0, tzinfo=UTC)
    assert (
        await birthdays.give_birthday_discounts(session, now=on_30_december, zone=VLADIVOSTOK) == 1
    )
    keys = sorted(d.once_key or "" for d in await birthday_discounts(session, customer))
    assert keys == ["birthday:2026", "birthday:2027"]
