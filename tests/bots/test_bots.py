"""Customers and cashiers talk to Dvorik through Telegram, end to end."""

from __future__ import annotations

import asyncio
import itertools
from datetime import date
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain.amounts import TillLine, parse_till_line
from backend.domain.models import Customer, CustomerStatus, Discount, DiscountKind, DiscountStatus
from backend.fake_telegram import FakeUser
from tests.customer_cases import BAD_BIRTHDAYS
from tests.factories import make_admin
from tests.telegram_world import (
    CASHIER_TOKEN,
    CUSTOMER_TOKEN,
    SECRET,
    Telegram,
    fresh,
    join_as_cashier,
    telegram_world,
)

__all__ = ["telegram_world"]
_ids = itertools.count(5_000_001)


def someone(first_name: str = "Маша") -> FakeUser:
    return FakeUser(id=next(_ids), first_name=first_name, last_name="Ким", username=None)


@pytest.fixture
async def telegram(
    telegram_world: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> Telegram:
    return await fresh(telegram_world)


async def subscribed(telegram: Telegram, first_name: str = "Маша") -> tuple[FakeUser, str]:
    user = someone(first_name)
    delivery = await telegram.fake.send_text(CUSTOMER_TOKEN, user, "/start instagram")
    assert delivery["status"] == 200
    code_line = telegram.texts_to(user, CUSTOMER_TOKEN)[-1]
    code = next(
        word.strip(".,")
        for word in code_line.split()
        if len(word.strip(".,")) == 8 and word.strip(".,").isupper()
    )
    return user, code


async def hired_cashier(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession], name: str = "Ольга"
) -> FakeUser:
    person = someone(name)
    await join_as_cashier(telegram, sessions, person, name)
    return person


async def test_new_customer_subscribes_and_receives_a_code(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user, code = await subscribed(telegram)

    texts = telegram.texts_to(user, CUSTOMER_TOKEN)
    assert texts[0].startswith("Здравствуйте, Маша!")
    assert "10%" in texts[1] and code in texts[1]
    async with sessions() as session:
        customer = await session.scalar(select(Customer).where(Customer.telegram_id == user.id))
        discount = await session.scalar(select(Discount).where(Discount.code == code))
    assert customer is not None and customer.source == "instagram"
    assert discount is not None and discount.kind is DiscountKind.SUBSCRIPTION


async def test_five_parallel_starts_give_one_subscription_discount(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user = someone()
    deliveries = await asyncio.gather(
        *(telegram.fake.send_text(CUSTOMER_TOKEN, user, "/start") for _ in range(5))
    )
    assert all(delivery["status"] == 200 for delivery in deliveries)
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Discount)
            .join(Customer)
            .where(Customer.telegram_id == user.id)
        )
    assert count == 1


async def test_cashier_redeems_and_the_customer_is_told_second_till_refused(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer, code = await subscribed(telegram, "Аня")
    olga = await hired_cashier(telegram, sessions, "Ольга")
    ivan = await hired_cashier(telegram, sessions, "Иван")

    for cashier in (olga, ivan):
        await telegram.fake.send_text(CASHIER_TOKEN, cashier, f"{code[:4]} {code[4:].lower()} 1250")
        assert "Аня" in telegram.texts_to(cashier, CASHIER_TOKEN)[-1]
    presses = []
    for cashier in (olga, ivan):
        offer = telegram.fake.messages_to(cashier.id, token=CASHIER_TOKEN)[-1]
        assert offer.reply_markup is not None and offer.message_id is not None
        data = offer.reply_markup["inline_keyboard"][0][0]["callback_data"]
        presses.append(telegram.fake.press_button(CASHIER_TOKEN, cashier, data, offer.message_id))
    await asyncio.gather(*presses)

    answers = [telegram.texts_to(cashier, CASHIER_TOKEN)[-1] for cashier in (olga, ivan)]
    assert sum("погашена" in answer for answer in answers) == 1
    refused = next(answer for answer in answers if "погашена" not in answer)
    assert "уже использован" in refused and "Светланская" in refused
    assert "использована" in telegram.texts_to(customer, CUSTOMER_TOKEN)[-1]
    async with sessions() as session:
        discount = await session.scalar(select(Discount).where(Discount.code == code))
    assert discount is not None and discount.status is DiscountStatus.REDEEMED
    assert str(discount.purchase_amount) == "1250.00"
    winner = olga if "погашена" in answers[0] else ivan
    await telegram.fake.send_text(CASHIER_TOKEN, winner, "/today")
    today = telegram.texts_to(winner, CASHIER_TOKEN)[-1]
    assert "Сегодня погашено: 1" in today and code in today and "1\u00a0250,00\u00a0₽" in today


async def test_cashier_types_a_code_in_two_halves_without_an_amount(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, code = await subscribed(telegram, "Вера")
    olga = await hired_cashier(telegram, sessions, "Ольга")
    await telegram.fake.send_text(CASHIER_TOKEN, olga, f"{code[:4].lower()} {code[4:]}")
    answer = telegram.texts_to(olga, CASHIER_TOKEN)[-1]
    assert "Вера" in answer  # the code was found, not read as code + amount
    # A second half of digits alone is not mistaken for a purchase amount.
    assert parse_till_line("abcd 2345") == TillLine("ABCD2345", None)
    assert parse_till_line("ABCD2345 1250,50") == TillLine("ABCD2345", Decimal("1250.50"))


async def test_wrong_or_missing_secret_is_401_and_nothing_happens(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 77, "type": "private"},
            "from": {"id": 77, "is_bot": False, "first_name": "X"},
            "text": "/start",
        },
    }
    async with httpx.AsyncClient(base_url=telegram.dvorik.url) as http:
        for headers in (
            {},
            {"X-Telegram-Bot-Api-Secret-Token": "nope"},
            {"X-Telegram-Bot-Api-Secret-Token": SECRET[:-1]},
        ):
            response = await http.post("/telegram/customer", json=update, headers=headers)
            assert response.status_code == 401
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Customer)) == 0
    assert telegram.fake.messages_to(77) == []


async def test_a_repeated_update_is_processed_once(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user = someone()
    update_id = telegram.fake.next_update_id(CUSTOMER_TOKEN)
    update = {
        "update_id": update_id,
        "message": {
            "message_id": 5,
            "date": 0,
            "chat": user.as_chat(),
            "from": user.as_user(),
            "text": "/help",
        },
    }
    for _ in range(3):
        await telegram.fake.deliver(CUSTOMER_TOKEN, update)
    assert len(telegram.texts_to(user, CUSTOMER_TOKEN)) == 1


async def test_strangers_are_refused_by_the_cashier_bot(telegram: Telegram) -> None:
    stranger = someone("Пётр")
    await telegram.fake.send_text(CASHIER_TOKEN, stranger, "/start")
    await telegram.fake.send_text(CASHIER_TOKEN, stranger, "ABCD2345")
    await telegram.fake.send_text(CASHIER_TOKEN, stranger, "/start WRONGCOD")
    texts = telegram.texts_to(stranger, CASHIER_TOKEN)
    assert "только для кассиров" in texts[0] and "только для кассиров" in texts[1]
    assert "не подошёл" in texts[2]


async def test_garbage_gets_a_polite_answer(telegram: Telegram) -> None:
    user, _ = await subscribed(telegram)
    before = len(telegram.texts_to(user, CUSTOMER_TOKEN))
    fake = telegram.fake
    deliveries = [
        await fake.send_text(CUSTOMER_TOKEN, user, "/frobnicate"),
        await fake.send_sticker(CUSTOMER_TOKEN, user),
        await fake.send_text(CUSTOMER_TOKEN, user, "я" * 4000),
        await fake.press_button(CUSTOMER_TOKEN, user, "garbage:%%%", 1),
        await fake.edit_text(CUSTOMER_TOKEN, user, 1, "исправил"),
    ]
    assert all(delivery["status"] == 200 for delivery in deliveries)
    replies = telegram.texts_to(user, CUSTOMER_TOKEN)[before:]
    assert len(replies) == 4  # a pressed stale button gets a toast, not a message
    assert all("не понял" in reply for reply in replies)


@pytest.mark.parametrize(("typed", "expected"), BAD_BIRTHDAYS)
async def test_bad_birthdays_are_explained_and_not_saved(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession], typed: str, expected: str
) -> None:
    user, _ = await subscribed(telegram)
    await telegram.fake.send_text(CUSTOMER_TOKEN, user, "/birthday")
    await telegram.fake.send_text(CUSTOMER_TOKEN, user, typed)
    assert expected in telegram.texts_to(user, CUSTOMER_TOKEN)[-1]
    async with sessions() as session:
        customer = await session.scalar(select(Customer).where(Customer.telegram_id == user.id))
    assert customer is not None and customer.birthday is None


async def test_birthday_is_set_once(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user, _ = await subscribed(telegram)
    await telegram.fake.send_text(CUSTOMER_TOKEN, user, "/birthday")
    await telegram.fake.send_text(CUSTOMER_TOKEN, user, "09.05.1990")
    assert "09.05.1990" in telegram.texts_to(user, CUSTOMER_TOKEN)[-1]
    await telegram.fake.send_text(CUSTOMER_TOKEN, user, "/birthday")
    assert "только администратор" in telegram.texts_to(user, CUSTOMER_TOKEN)[-1]
    async with sessions() as session:
        customer = await session.scalar(select(Customer).where(Customer.telegram_id == user.id))
    assert customer is not None and customer.birthday == date(1990, 5, 9)


async def test_blocking_and_unblocking_the_bot_change_the_status(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user, _ = await subscribed(telegram)

    async def status() -> CustomerStatus:
        async with sessions() as session:
            customer = await session.scalar(select(Customer).where(Customer.telegram_id == user.id))
        assert customer is not None
        return customer.status

    await telegram.fake.block_bot(CUSTOMER_TOKEN, user)
    assert await status() is CustomerStatus.BLOCKED
    await telegram.fake.unblock_bot(CUSTOMER_TOKEN, user)
    assert await status() is CustomerStatus.ACTIVE


async def test_cabinet_shows_codes_with_qr_images(telegram: Telegram) -> None:
    user, code = await subscribed(telegram)
    await telegram.fake.send_text(CUSTOMER_TOKEN, user, "/discounts")
    photos = [
        m
        for m in telegram.fake.messages_to(user.id, token=CUSTOMER_TOKEN)
        if m.method == "sendPhoto"
    ]
    assert len(photos) == 1
    assert code in (photos[0].caption or "") and (photos[0].photo_size or 0) > 100


async def test_code_guessing_is_rate_limited(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    cashier = await hired_cashier(telegram, sessions, "Гадалка")
    for attempt in range(21):
        await telegram.fake.send_text(CASHIER_TOKEN, cashier, f"ZZZZZZ{attempt:02d}"[:8])
    texts = telegram.texts_to(cashier, CASHIER_TOKEN)
    assert "Слишком много проверок" in texts[-1]
    assert sum("не найден" in text for text in texts) == 20


async def test_admin_gets_a_login_link_others_get_help(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        await make_admin(session, telegram_id=9_000_001)
    admin_user = FakeUser(id=9_000_001, first_name="Олег")
    await telegram.fake.send_text(CUSTOMER_TOKEN, admin_user, "/admin")
    link = telegram.texts_to(admin_user, CUSTOMER_TOKEN)[-1]
    assert "/login?token=" in link
    token = link.split("token=")[1].split()[0]
    async with httpx.AsyncClient(base_url=telegram.dvorik.url) as http:
        response = await http.post(
            "/graphql",
            json={
                "query": "mutation($t: String!) { loginWithToken(token: $t) { token } }",
                "variables": {"t": token},
            },
        )
    assert response.json()["data"]["loginWithToken"]["token"]

    stranger = someone()
    await telegram.fake.send_text(CUSTOMER_TOKEN, stranger, "/admin")
    assert "Я бот" in telegram.texts_to(stranger, CUSTOMER_TOKEN)[-1]
