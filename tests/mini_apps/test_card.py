"""A customer opens the card from the bot's menu: the chat's discounts, birthday and mailings.

Each scenario does the same thing in the chat and in the card, in one test,
and compares what the person reads: the card must not drift from the bot.
"""

from __future__ import annotations

import base64
import re

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain.models import Customer, CustomerStatus, Discount
from backend.fake_telegram import FakeUser
from backend.telegram.qr_codes import qr_png
from tests.customer_cases import BAD_BIRTHDAYS, KIND_LABELS, born_today, give_every_kind
from tests.mini_apps.opened import card, error_of
from tests.mini_apps.people import chat, someone, subscribed
from tests.telegram_world import Telegram


async def customer_row(sessions: async_sessionmaker[AsyncSession], user: FakeUser) -> Customer:
    async with sessions() as session:
        found = await session.scalar(select(Customer).where(Customer.telegram_id == user.id))
    assert found is not None
    return found


def masked(text: str) -> str:
    """A reply with its discount code and dates blanked: two customers get different codes."""
    return re.sub(r"\b[A-Z0-9]{8}\b", "CODE", re.sub(r"\d\d\.\d\d\.\d{4}", "DATE", text))


async def test_the_card_shows_exactly_what_my_discounts_shows_for_every_kind(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user = await subscribed(telegram)
    await give_every_kind(sessions, user.id)

    bot_says = await chat(telegram, user, "/discounts")
    opened = await card(telegram, user).get("/app/api/card")

    assert opened.status_code == 200, opened.text
    shown = opened.json()
    captions = [item["caption"] for item in shown["discounts"]]
    assert captions == bot_says[1:]  # the bot's photos' captions, in the bot's order
    assert shown["texts"]["count"] == bot_says[0]
    assert {item["kindLabel"] for item in shown["discounts"]} == set(KIND_LABELS.values())
    assert {item["kind"] for item in shown["discounts"]} == {kind.value for kind in KIND_LABELS}
    for item in shown["discounts"]:
        assert item["code"] in item["caption"] and f"{item['percent']}%" in item["caption"]
        day, month, year = item["lastDay"][8:], item["lastDay"][5:7], item["lastDay"][:4]
        assert f"{day}.{month}.{year}" in item["caption"]
        png = base64.b64decode(item["qr"].removeprefix("data:image/png;base64,"))
        assert png == qr_png(item["code"])  # the QR carries the code and nothing else
    assert shown["customer"]["firstName"] == "Вера" and shown["customer"]["subscribed"] is True


async def test_a_card_without_discounts_says_what_the_bot_says(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user = await subscribed(telegram)
    customer = await customer_row(sessions, user)
    async with sessions() as session, session.begin():
        await session.execute(delete(Discount).where(Discount.customer_id == customer.id))

    bot_says = await chat(telegram, user, "/discounts")
    shown = (await card(telegram, user).get("/app/api/card")).json()

    assert shown["discounts"] == []
    assert [shown["texts"]["empty"]] == bot_says


async def test_someone_who_never_pressed_start_is_told_to(telegram: Telegram) -> None:
    stranger = someone()

    refused = await card(telegram, stranger).get("/app/api/card")

    assert error_of(refused) == (403, "FORBIDDEN", "Сначала нажмите /start, чтобы подписаться.")


@pytest.mark.parametrize(("typed", "expected"), BAD_BIRTHDAYS)
async def test_a_bad_birthday_is_refused_in_the_chats_words_and_not_saved(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession], typed: str, expected: str
) -> None:
    in_chat, in_card = await subscribed(telegram), await subscribed(telegram)
    await chat(telegram, in_chat, "/birthday")
    chat_reply = (await chat(telegram, in_chat, typed))[-1]

    refused = await card(telegram, in_card).post("/app/api/birthday", {"birthday": typed})

    assert error_of(refused) == (422, "INVALID_BIRTHDAY", chat_reply)
    assert expected in chat_reply
    assert (await customer_row(sessions, in_card)).birthday is None


async def test_a_birthday_on_the_day_brings_the_gift_as_in_the_chat(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    today = born_today(telegram.dvorik.runtime.settings.zone)
    in_chat, in_card = await subscribed(telegram), await subscribed(telegram)
    await chat(telegram, in_chat, "/birthday")
    chat_replies = await chat(telegram, in_chat, today)

    saved = await card(telegram, in_card).post("/app/api/birthday", {"birthday": today})

    assert saved.status_code == 200, saved.text
    answer = saved.json()
    assert masked(answer["message"]) == masked(chat_replies[0])
    assert answer["message"].startswith(f"Спасибо! Запомнили: {today}. С днём рождения!")
    gift = next(item for item in answer["card"]["discounts"] if item["kind"] == "birthday")
    assert f"код {gift['code']}" in answer["message"]
    assert masked(gift["caption"]) == masked(chat_replies[1])
    stored = (await customer_row(sessions, in_card)).birthday
    assert stored is not None and answer["card"]["customer"]["birthday"] == stored.isoformat()


async def test_a_birthday_is_set_once_as_in_the_chat(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user = await subscribed(telegram)
    first = await card(telegram, user).post("/app/api/birthday", {"birthday": "09.05.1990"})
    assert first.status_code == 200, first.text
    assert first.json()["message"].startswith("Спасибо! Запомнили: 09.05.1990.")

    again = await card(telegram, user).post("/app/api/birthday", {"birthday": "10.06.1991"})
    chat_reply = (await chat(telegram, user, "/birthday"))[-1]

    assert error_of(again) == (409, "BIRTHDAY_ALREADY_SET", chat_reply)
    assert "только администратор" in chat_reply
    assert str((await customer_row(sessions, user)).birthday) == "1990-05-09"


async def test_an_unsubscribed_customer_is_not_promised_a_gift_as_in_the_chat(
    telegram: Telegram,
) -> None:
    today = born_today(telegram.dvorik.runtime.settings.zone)
    in_chat, in_card = await subscribed(telegram), await subscribed(telegram)
    await chat(telegram, in_chat, "/stop")
    await chat(telegram, in_chat, "/birthday")
    chat_replies = await chat(telegram, in_chat, today)
    await card(telegram, in_card).post("/app/api/subscription", {"subscribed": False})

    saved = await card(telegram, in_card).post("/app/api/birthday", {"birthday": today})

    assert saved.json()["message"] == chat_replies[0]
    assert "подарки ко дню рождения не приходят" in chat_replies[0]
    assert not any(item["kind"] == "birthday" for item in saved.json()["card"]["discounts"])


async def test_mailings_are_switched_off_and_on_from_the_card(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user = await subscribed(telegram)
    opened = card(telegram, user)

    off = await opened.post("/app/api/subscription", {"subscribed": False})

    assert off.status_code == 200, off.text
    assert off.json()["card"]["customer"]["subscribed"] is False
    assert off.json()["message"].startswith("Вы отписались от рассылок, Вера.")
    assert (await customer_row(sessions, user)).status is CustomerStatus.UNSUBSCRIBED

    on = await opened.post("/app/api/subscription", {"subscribed": True})

    assert on.status_code == 200, on.text
    assert on.json()["card"]["customer"]["subscribed"] is True
    assert on.json()["message"].startswith("С возвращением, Вера! Вы снова подписаны")
    assert (await customer_row(sessions, user)).status is CustomerStatus.ACTIVE
    again = await opened.post("/app/api/subscription", {"subscribed": True})
    assert again.json()["message"] == (await chat(telegram, user, "/start"))[-1]


@pytest.mark.parametrize(
    "body", [None, [], {"subscribed": "yes"}, {"birthday": 19900509}, {"other": True}]
)
async def test_an_unreadable_body_is_refused_in_words(telegram: Telegram, body: object) -> None:
    user = await subscribed(telegram)
    for path in ("/app/api/subscription", "/app/api/birthday"):
        refused = await card(telegram, user).post(path, body)
        status, code, message = error_of(refused)
        assert (status, code) == (422, "VALIDATION") and "Обновите страницу" in message
