"""The lean sendMessage of backend/workers/message_sender.py against aiogram's own.

The engine skips aiogram's models on its hot path, but its rules key on aiogram's
exception classes: for every answer the fake can give, the lean sender must raise
what `bot.send_message` raises, and a sent message must look the same at the fake.
"""

from __future__ import annotations

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramUnauthorizedError

from backend.fake_telegram import FakeTelegram, create_app
from backend.telegram.clients import create_bot
from backend.workers.message_sender import MessageSender
from tests.api import serve_app
from tests.broadcast_runs import TOKEN
from tests.factories import next_telegram_id
from tests.processes import free_port

LEAN_TEXT = "Скидка <b>10%</b> до пятницы"


async def test_a_lean_send_looks_the_same_at_telegram_as_aiogram_s(
    fake: FakeTelegram, bot: Bot
) -> None:
    chat = next_telegram_id()
    sender = MessageSender(bot)

    by_aiogram = await bot.send_message(chat, LEAN_TEXT, parse_mode="HTML")
    by_sender = await sender.send(sender.prepare(chat, LEAN_TEXT, "HTML"))

    first, second = fake.messages_to(chat)
    assert by_sender == second.message_id == by_aiogram.message_id + 1
    assert (first.text, first.params.get("parse_mode")) == (LEAN_TEXT, "HTML")
    assert (second.text, second.params.get("parse_mode")) == (LEAN_TEXT, "HTML")


@pytest.mark.parametrize("fault", ["429", "403", "400", "500", "502"])
async def test_a_lean_send_refused_raises_what_aiogram_raises(
    fake: FakeTelegram, bot: Bot, fault: str
) -> None:
    chat = next_telegram_id()
    sender = MessageSender(bot)
    fake.fail_chat(chat, fault, count=2, retry_after=3)

    with pytest.raises(Exception) as by_aiogram:
        await bot.send_message(chat, LEAN_TEXT)
    with pytest.raises(Exception) as by_sender:
        await sender.send(sender.prepare(chat, LEAN_TEXT, None))

    assert type(by_sender.value) is type(by_aiogram.value)
    assert str(by_sender.value) == str(by_aiogram.value)
    if isinstance(by_aiogram.value, TelegramRetryAfter):
        assert isinstance(by_sender.value, TelegramRetryAfter)
        assert by_sender.value.retry_after == by_aiogram.value.retry_after == 3
    assert not fake.messages_to(chat)


async def test_a_lean_send_with_a_refused_token_raises_what_aiogram_raises() -> None:
    strict = FakeTelegram(tokens=[TOKEN])
    async with serve_app(create_app(strict)) as url:
        stranger = create_bot("111111:" + "G" * 35, url)
        try:
            sender = MessageSender(stranger)
            with pytest.raises(Exception) as by_aiogram:
                await stranger.send_message(next_telegram_id(), LEAN_TEXT)
            with pytest.raises(Exception) as by_sender:
                await sender.send(sender.prepare(next_telegram_id(), LEAN_TEXT, None))
        finally:
            await stranger.session.close()
    assert isinstance(by_sender.value, TelegramUnauthorizedError)
    assert type(by_sender.value) is type(by_aiogram.value)
    assert str(by_sender.value) == str(by_aiogram.value)


async def test_a_lean_send_to_no_server_is_a_network_error_that_never_left() -> None:
    """The engine retries exactly these: the connection was never opened."""
    nowhere = create_bot(TOKEN, f"http://127.0.0.1:{free_port()}")
    try:
        sender = MessageSender(nowhere)
        with pytest.raises(TelegramNetworkError) as raised:
            await sender.send(sender.prepare(next_telegram_id(), LEAN_TEXT, None))
    finally:
        await nowhere.session.close()
    assert isinstance(raised.value.__cause__, aiohttp.ClientConnectorError)


async def test_a_lean_send_answered_late_times_out_but_the_message_arrives(
    served: tuple[FakeTelegram, str], fake: FakeTelegram
) -> None:
    """A timeout is the ambiguous case: Telegram got the request and acts on it anyway."""
    chat = next_telegram_id()
    impatient = create_bot(TOKEN, served[1])
    impatient.session.timeout = 0.2
    fake.slow(0.6, chat_id=chat)
    try:
        sender = MessageSender(impatient)
        with pytest.raises(TelegramNetworkError, match="timeout") as raised:
            await sender.send(sender.prepare(chat, LEAN_TEXT, None))
        assert not isinstance(raised.value.__cause__, aiohttp.ClientConnectorError)
        sent = await fake.wait_for_messages(chat, 1, within=3)
    finally:
        fake.slow(0)
        await impatient.session.close()
    assert [message.text for message in sent] == [LEAN_TEXT]
