"""The fake Bot API on real HTTP, one per test module, emptied before each test.

`served` and `fake` are for any test that drives the fake through a Bot of its
own (tests/workers/conftest.py makes the broadcast engine's); `bot`, `url` and
the users and keyboard below are those of the fake's own tests
(tests/bots/test_fake_telegram_*.py). Import the fixtures into a test module
or a conftest.py: pytest finds them by name there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from backend.fake_telegram import FakeTelegram, FakeUser, create_app
from tests.api import serve_app

TOKEN = "123456:" + "A" * 35
BOT_ID = 123456
ANNA = FakeUser(1001, "Анна", username="anna_sweet")
BORIS = FakeUser(1002, "Борис")
KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="Мои бонусы", callback_data="bonus:1001")]]
)


@pytest.fixture(scope="module")
async def served() -> AsyncIterator[tuple[FakeTelegram, str]]:
    """The fake and its base URL, served for the whole test module."""
    fake = FakeTelegram()
    async with serve_app(create_app(fake)) as url:
        yield fake, url


@pytest.fixture
def fake(served: tuple[FakeTelegram, str]) -> FakeTelegram:
    """The module's fake, with no chats, faults or counts left by an earlier test."""
    served[0].reset()
    return served[0]


@pytest.fixture
def url(served: tuple[FakeTelegram, str]) -> str:
    return served[1]


@pytest.fixture(scope="module")
async def bot(served: tuple[FakeTelegram, str]) -> AsyncIterator[Bot]:
    """An aiogram Bot with TOKEN on the module's fake, as any bot written for Telegram."""
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(served[1])))
    yield bot
    await bot.session.close()
