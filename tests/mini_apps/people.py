"""The people of the Mini Apps' scenarios: customers who chat with the bot, cashiers it hired."""

from __future__ import annotations

import itertools

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.fake_telegram import FakeUser
from tests.telegram_world import CUSTOMER_TOKEN, Telegram, join_as_cashier

_ids = itertools.count(6_100_001)


def someone(first_name: str = "Вера") -> FakeUser:
    return FakeUser(id=next(_ids), first_name=first_name, last_name="Ли", username=None)


async def chat(
    telegram: Telegram, user: FakeUser, text: str, token: str = CUSTOMER_TOKEN
) -> list[str]:
    """`user` writes `text` to a bot; what the bot answered (texts and captions)."""
    before = len(telegram.texts_to(user, token))
    delivery = await telegram.fake.send_text(token, user, text)
    assert delivery["status"] == 200
    return telegram.texts_to(user, token)[before:]


async def subscribed(telegram: Telegram, first_name: str = "Вера") -> FakeUser:
    """A customer who pressed /start (and got the welcome discount)."""
    user = someone(first_name)
    assert any("Добро пожаловать" in text for text in await chat(telegram, user, "/start"))
    return user


async def hired(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession], name: str = "Ольга"
) -> FakeUser:
    """A cashier invited by the shop who joined the cashier bot with the invite."""
    person = someone(name)
    await join_as_cashier(telegram, sessions, person, name)
    return person
