"""Birthday discounts: judged on the shop's calendar, once per customer per year."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import birthdays, shop_settings, templates
from backend.domain.audit import Actor
from backend.domain.birthdays import BirthdaySaved, GiftOutcome
from backend.domain.clock import last_valid_day
from backend.domain.database import run_in_transaction
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


async def gifts_given(session: AsyncSession, now: datetime) -> int:
    """The 09:00 job run at `now` in the shop's zone: how many birthday gifts it gave."""
    return await birthdays.give_birthday_discounts(session, now=now, zone=VLADIVOSTOK)


async def tells_birthday(
    session: AsyncSession, customer: Customer, birthday: date, now: datetime
) -> BirthdaySaved:
    """The customer types their birthday into the bot at `now`."""
    return await birthdays.save_birthday(session, customer.id, birthday, now=now, zone=VLADIVOSTOK)


@pytest.fixture
async def three_days_ahead(session: AsyncSession) -> None:
    """The shop gives the gift three days before the birthday."""
    await shop_settings.set_value(session, "birthday_days_before", 3, Actor.system())


@pytest.fixture
async def customer(session: AsyncSession) -> Customer:
    """A subscribed customer who has not told the bot their birthday yet."""
    return await make_customer(session)


async def test_the_day_is_judged_in_vladivostok(session: AsyncSession) -> None:
    born_on_the_10th = await make_customer(session, birthday=date(1990, 3, 10))
    born_on_the_9th = await make_customer(session, birthday=date(1990, 3, 9))
    # 15:30 UTC on the 9th is 01:30 on the 10th in Vladivostok.
    now = datetime(2026, 3, 9, 15, 30, tzinfo=UTC)

    issued = await gifts_given(session, now)

    assert issued == 1
    assert len(await birthday_discounts(session, born_on_the_10th)) == 1
    assert await birthday_discounts(session, born_on_the_9th) == []


async def test_leap_day_birthday_is_celebrated_on_28_february_in_common_years(
    session: AsyncSession,
) -> None:
    leapling = await make_customer(session, birthday=date(2000, 2, 29))
    common_year_28th = datetime(2027, 2, 28, 0, 0, tzinfo=UTC)  # 10:00 in Vladivostok

    assert await gifts_given(session, common_year_28th) == 1
    [discount] = await birthday_discounts(session, leapling)
    assert discount.once_key == "birthday:2027"


async def test_leap_day_birthday_waits_for_29_february_in_leap_years(
    session: AsyncSession,
) -> None:
    leapling = await make_customer(session, birthday=date(2000, 2, 29))

    on_28th = datetime(2028, 2, 28, 0, 0, tzinfo=UTC)
    assert await gifts_given(session, on_28th) == 0
    on_29th = datetime(2028, 2, 29, 0, 0, tzinfo=UTC)
    assert await gifts_given(session, on_29th) == 1
    assert len(await birthday_discounts(session, leapling)) == 1


async def test_second_run_on_the_same_day_issues_nothing(session: AsyncSession) -> None:
    customer = await make_customer(session, birthday=date(1985, 12, 1))
    morning = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)  # 09:00 on 1 December there
    evening = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    assert await gifts_given(session, morning) == 1
    assert await gifts_given(session, evening) == 0
    assert len(await birthday_discounts(session, customer)) == 1


async def test_next_year_brings_a_new_birthday_discount(session: AsyncSession) -> None:
    customer = await make_customer(session, birthday=date(1985, 6, 1))
    for year in (2026, 2027):
        now = datetime(year, 6, 1, 0, 0, tzinfo=UTC)
        assert await gifts_given(session, now) == 1
    keys = sorted(d.once_key or "" for d in await birthday_discounts(session, customer))
    assert keys == ["birthday:2026", "birthday:2027"]


async def test_only_subscribed_customers_get_birthday_discounts(session: AsyncSession) -> None:
    await make_customer(session, birthday=date(1990, 5, 5), status=CustomerStatus.UNSUBSCRIBED)
    await make_customer(session, birthday=date(1990, 5, 5), status=CustomerStatus.BLOCKED)
    now = datetime(2026, 5, 5, 0, 0, tzinfo=UTC)
    assert await gifts_given(session, now) == 0


@pytest.mark.usefixtures("three_days_ahead")
async def test_discount_given_days_ahead_across_new_year(session: AsyncSession) -> None:
    customer = await make_customer(session, birthday=date(1999, 1, 2))
    # The customer got last year's discount on 2 January 2026.
    last_year = datetime(2026, 1, 1, 23, 0, tzinfo=UTC)
    assert await gifts_given(session, last_year) == 1

    on_30_december = datetime(2026, 12, 30, 0, 0, tzinfo=UTC)
    assert await gifts_given(session, on_30_december) == 1
    keys = sorted(d.once_key or "" for d in await birthday_discounts(session, customer))
    assert keys == ["birthday:2026", "birthday:2027"]


async def what_the_customer_reads(session: AsyncSession, saved: BirthdaySaved) -> str:
    """The bot's answer for this outcome, as the customer bot renders it."""
    birthday = saved.customer.birthday
    assert birthday is not None
    values: dict[str, object] = {"birthday": birthday.strftime("%d.%m.%Y")}
    if saved.gift is not None:
        values |= {
            "percent": saved.gift.percent,
            "code": saved.gift.code,
            "expires_on": last_valid_day(saved.gift.expires_at, VLADIVOSTOK).strftime("%d.%m.%Y"),
        }
    if saved.will_get_gift_on is not None:
        values["gift_on"] = saved.will_get_gift_on.strftime("%d.%m.%Y")
    return await templates.render(session, f"birthday_saved_{saved.outcome}", **values)


async def test_a_customer_who_sets_their_birthday_on_the_day_after_9_gets_the_gift_at_once(
    session: AsyncSession, customer: Customer
) -> None:
    morning = datetime(2026, 12, 6, 9, 0, tzinfo=VLADIVOSTOK)
    assert await gifts_given(session, morning) == 0

    afternoon = datetime(2026, 12, 6, 15, 0, tzinfo=VLADIVOSTOK)
    saved = await tells_birthday(session, customer, date(1990, 12, 6), afternoon)

    assert saved.outcome is GiftOutcome.GIVEN_NOW and saved.gift is not None
    [gift] = await birthday_discounts(session, customer)
    assert gift.id == saved.gift.id and gift.once_key == "birthday:2026"
    text = await what_the_customer_reads(session, saved)
    assert f"код {gift.code}" in text and "до 20.12.2026" in text  # 14 days, the whole 20th
    evening = datetime(2026, 12, 6, 21, 0, tzinfo=VLADIVOSTOK)
    assert await gifts_given(session, evening) == 0
    assert len(await birthday_discounts(session, customer)) == 1


@pytest.mark.usefixtures("three_days_ahead")
async def test_a_birthday_set_inside_the_window_brings_the_gift_at_once(
    session: AsyncSession, customer: Customer
) -> None:
    # 30 December; the birthday on 1 January is two days ahead, inside the window.
    now = datetime(2026, 12, 30, 18, 0, tzinfo=VLADIVOSTOK)

    saved = await tells_birthday(session, customer, date(1988, 1, 1), now)

    assert saved.outcome is GiftOutcome.GIVEN_NOW
    [gift] = await birthday_discounts(session, customer)
    assert gift.once_key == "birthday:2027"
    for morning in (datetime(2026, 12, 31, 9, 0), datetime(2027, 1, 1, 9, 0)):
        at_nine = morning.replace(tzinfo=VLADIVOSTOK)
        assert await gifts_given(session, at_nine) == 0
    assert len(await birthday_discounts(session, customer)) == 1


@pytest.mark.usefixtures("three_days_ahead")
async def test_a_birthday_outside_the_window_is_promised_for_the_day_the_job_gives_it(
    session: AsyncSession, customer: Customer
) -> None:
    now = datetime(2026, 12, 6, 15, 0, tzinfo=VLADIVOSTOK)

    saved = await tells_birthday(session, customer, date(1990, 12, 20), now)

    assert saved.outcome is GiftOutcome.LATER and saved.gift is None
    assert saved.will_get_gift_on == date(2026, 12, 17)
    assert "пришлём 17.12.2026" in await what_the_customer_reads(session, saved)
    assert await birthday_discounts(session, customer) == []
    promised_morning = datetime(2026, 12, 17, 9, 0, tzinfo=VLADIVOSTOK)
    assert await gifts_given(session, promised_morning) == 1


async def test_an_unsubscribed_customer_is_not_promised_a_gift(session: AsyncSession) -> None:
    customer = await make_customer(session, status=CustomerStatus.UNSUBSCRIBED)
    on_the_day = datetime(2026, 12, 6, 15, 0, tzinfo=VLADIVOSTOK)

    saved = await tells_birthday(session, customer, date(1990, 12, 6), on_the_day)

    assert saved.outcome is GiftOutcome.UNSUBSCRIBED and saved.gift is None
    assert saved.will_get_gift_on is None
    assert await birthday_discounts(session, customer) == []
    text = await what_the_customer_reads(session, saved)
    assert "подарки ко дню рождения не приходят" in text and "/start" in text
    assert "ждёт подарок" not in text and "пришлём" not in text


async def test_no_gift_is_promised_while_the_shop_gives_none(
    session: AsyncSession, customer: Customer
) -> None:
    await shop_settings.set_value(session, "birthday_discount_enabled", False, Actor.system())
    now = datetime(2026, 12, 6, 15, 0, tzinfo=VLADIVOSTOK)

    saved = await tells_birthday(session, customer, date(1990, 12, 6), now)

    assert saved.outcome is GiftOutcome.GIFTS_OFF
    assert await what_the_customer_reads(session, saved) == "Спасибо! Запомнили: 06.12.1990."
    assert await birthday_discounts(session, customer) == []


async def test_the_9_oclock_job_racing_customers_setting_their_birthday_gives_one_gift_each(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        racing = [(await make_customer(session)).id for _ in range(8)]
        already_known = [
            (await make_customer(session, birthday=date(1990, 12, 6))).id for _ in range(4)
        ]
    at_nine = datetime(2026, 12, 6, 9, 0, tzinfo=VLADIVOSTOK)
    go = asyncio.Event()

    async def customer_types_the_date(customer_id: int) -> BirthdaySaved:
        await go.wait()
        return await run_in_transaction(
            sessions,
            lambda session: birthdays.save_birthday(
                session, customer_id, date(1990, 12, 6), now=at_nine, zone=VLADIVOSTOK
            ),
        )

    async def the_job() -> int:
        await go.wait()
        return await run_in_transaction(
            sessions,
            lambda session: birthdays.give_birthday_discounts(
                session, now=at_nine, zone=VLADIVOSTOK
            ),
        )

    jobs = [asyncio.create_task(the_job()) for _ in range(2)]
    saves = [asyncio.create_task(customer_types_the_date(i)) for i in racing]
    await asyncio.sleep(0.05)
    go.set()
    job_counts = await asyncio.gather(*jobs)
    outcomes = await asyncio.gather(*saves)

    assert {saved.outcome for saved in outcomes} <= {
        GiftOutcome.GIVEN_NOW,
        GiftOutcome.ALREADY_GIVEN,
    }
    gifts_at_save = sum(saved.gift is not None for saved in outcomes)
    assert gifts_at_save + sum(job_counts) == len(racing) + len(already_known)
    async with sessions() as session:
        for customer_id in racing + already_known:
            found = await session.scalars(
                select(Discount.once_key).where(
                    Discount.customer_id == customer_id, Discount.kind == DiscountKind.BIRTHDAY
                )
            )
            assert list(found) == ["birthday:2026"]


async def test_a_customer_whose_gift_this_year_exists_is_told_where_it_is(
    session: AsyncSession,
) -> None:
    # An admin had set the date, the 09:00 job gave the gift, the admin cleared the date.
    customer = await make_customer(session, birthday=date(1990, 12, 6))
    morning = datetime(2026, 12, 6, 9, 0, tzinfo=VLADIVOSTOK)
    assert await gifts_given(session, morning) == 1
    customer.birthday = None
    await session.flush()

    afternoon = datetime(2026, 12, 6, 15, 0, tzinfo=VLADIVOSTOK)
    saved = await tells_birthday(session, customer, date(1990, 12, 6), afternoon)

    assert saved.outcome is GiftOutcome.ALREADY_GIVEN and saved.gift is None
    assert "«Мои скидки»" in await what_the_customer_reads(session, saved)
    assert len(await birthday_discounts(session, customer)) == 1
