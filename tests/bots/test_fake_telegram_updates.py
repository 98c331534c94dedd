"""Updates from the fake Bot API reach a bot by webhook or by long polling.

A webhook gets the secret header and may answer with a method in its body;
getUpdates honours offsets and long-polls; aiogram's dispatcher round-trips
over both.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.exceptions import TelegramConflictError
from aiogram.filters import CommandStart
from aiogram.methods import EditMessageText, SendMessage
from aiogram.types import CallbackQuery, Message, Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from fastapi import FastAPI, Request

from backend.fake_telegram import FakeTelegram
from tests.api import serve_app
from tests.fake_bot_api import ANNA, BORIS, KEYBOARD, TOKEN, bot, fake, served
from tests.processes import free_port
from tests.timing import LoopLag, until

__all__ = ["bot", "fake", "served"]

SECRET = "hook-secret_" + "s" * 20


class Webhook:
    """A tiny webhook endpoint that keeps what Telegram posted and answers `reply`."""

    def __init__(self, reply: dict[str, Any] | None = None) -> None:
        self.received: list[tuple[dict[str, str], Any]] = []
        self.reply = reply or {}
        self.app = FastAPI()

        @self.app.post("/hook")
        async def hook(request: Request) -> dict[str, Any]:
            self.received.append((dict(request.headers), await request.json()))
            return self.reply


@asynccontextmanager
async def webhook(reply: dict[str, Any] | None = None) -> AsyncIterator[tuple[Webhook, str]]:
    hook = Webhook(reply)
    async with serve_app(hook.app) as base:
        yield hook, f"{base}/hook"


@asynccontextmanager
async def aiogram_webhook(dp: Dispatcher, bot: Bot) -> AsyncIterator[str]:
    """aiogram's own aiohttp webhook handler, answering with a method in the body."""
    app = web.Application()
    handler = SimpleRequestHandler(dp, bot, handle_in_background=False, secret_token=SECRET)

    async def hook(request: web.Request) -> web.StreamResponse:
        return await handler.handle(request)

    app.router.add_post("/hook", hook)  # not register(): it would close the bot's session
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        await runner.cleanup()


async def test_webhook_gets_updates_with_the_secret_and_may_reply_in_its_body(
    bot: Bot, fake: FakeTelegram
) -> None:
    reply = {"method": "sendMessage", "chat_id": ANNA.id, "text": "Добро пожаловать!"}
    async with webhook(reply) as (hook, hook_url):
        assert await bot.set_webhook(
            hook_url, secret_token=SECRET, allowed_updates=["message", "callback_query"]
        )
        info = await bot.get_webhook_info()
        delivery = await fake.send_text(TOKEN, ANNA, "/start ref_42")
        blocked = await fake.block_bot(TOKEN, ANNA)  # my_chat_member is not allowed

    assert (info.url, info.pending_update_count, info.allowed_updates) == (
        hook_url,
        0,
        ["message", "callback_query"],
    )
    assert (delivery["via"], delivery["status"], delivery["body"]) == ("webhook", 200, reply)
    assert blocked["via"] == "filtered"
    [(headers, body)] = hook.received
    assert headers["x-telegram-bot-api-secret-token"] == SECRET
    update = Update.model_validate(body)
    assert update.update_id == delivery["update"]["update_id"]
    assert update.message is not None and update.message.text == "/start ref_42"
    assert (
        update.message.from_user is not None and update.message.from_user.username == "anna_sweet"
    )
    assert update.message.entities is not None
    assert (update.message.entities[0].type, update.message.entities[0].length) == (
        "bot_command",
        6,
    )
    assert fake.last_text(ANNA.id) == "Добро пожаловать!"


async def test_unreachable_webhook_is_reported_like_telegram(bot: Bot, fake: FakeTelegram) -> None:
    await bot.set_webhook(f"http://127.0.0.1:{free_port()}/hook")

    delivery = await fake.send_text(TOKEN, ANNA, "Алло")
    info = await bot.get_webhook_info()

    assert delivery["status"] is None and delivery["error"]
    assert info.last_error_message == delivery["error"]
    with pytest.raises(TelegramConflictError):
        await bot.get_updates()


async def test_aiogram_dispatcher_behind_a_webhook_round_trips(
    bot: Bot, fake: FakeTelegram
) -> None:
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: Message) -> SendMessage:
        return message.answer("Ваши бонусы", reply_markup=KEYBOARD)  # answered in the body

    @dp.callback_query(F.data.startswith("bonus:"))
    async def bonus(query: CallbackQuery) -> EditMessageText:
        await query.answer("Считаем…")  # a real call to the fake
        assert isinstance(query.message, Message)
        return query.message.edit_text("На счету 150 бонусов")

    async with aiogram_webhook(dp, bot) as hook_url:
        await bot.set_webhook(hook_url, secret_token=SECRET)
        started = await fake.send_command(TOKEN, ANNA, "start")
        [menu] = fake.messages_to(ANNA.id)
        pressed = await fake.press_button(TOKEN, ANNA, "bonus:1001", menu.message_id or 0)

    assert started["status"] == pressed["status"] == 200
    assert started["reply_error"] is None and pressed["reply_error"] is None
    calls = [(s.method, s.text) for s in fake.messages_to(ANNA.id)]
    assert calls == [
        ("sendMessage", "Ваши бонусы"),
        ("answerCallbackQuery", "Считаем…"),
        ("editMessageText", "На счету 150 бонусов"),
    ]
    assert fake.messages_to(ANNA.id)[0].reply_markup == KEYBOARD.model_dump(exclude_none=True)


async def test_get_updates_returns_queued_updates_and_honours_offset(
    bot: Bot, fake: FakeTelegram
) -> None:
    first = await fake.send_text(TOKEN, ANNA, "Раз")
    await fake.send_sticker(TOKEN, BORIS)

    updates = await bot.get_updates()
    rest = await bot.get_updates(offset=updates[0].update_id + 1)
    confirmed = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)

    assert first["via"] == "queue"
    assert [u.message.text if u.message else None for u in updates] == ["Раз", None]
    assert updates[1].message is not None and updates[1].message.sticker is not None
    assert [u.update_id for u in rest] == [updates[1].update_id]
    assert confirmed == []
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_get_updates_long_polls_until_an_update_arrives(bot: Bot, fake: FakeTelegram) -> None:
    started = time.monotonic()
    empty = await bot.get_updates(timeout=1)
    waited = time.monotonic() - started
    polls = fake.bot(TOKEN).poll_generation
    async with LoopLag() as lag:
        poll = asyncio.create_task(bot.get_updates(timeout=5))
        await until(lambda: fake.bot(TOKEN).poll_generation > polls, "the poll at the fake")
        started = time.monotonic()
        await fake.send_text(TOKEN, ANNA, "Есть кто?")
        updates = await poll
        answered_after = time.monotonic() - started

    assert empty == [] and waited >= 1
    # At once, not when the 5 s run out: a second at most, with this loop's lag.
    assert answered_after < 1 + lag.margin, (answered_after, lag.worst)
    assert [u.message.text for u in updates if u.message] == ["Есть кто?"]


async def test_aiogram_polling_gets_messages_and_replies(bot: Bot, fake: FakeTelegram) -> None:
    dp = Dispatcher()

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"Вы написали: {message.text}")

    polling = asyncio.create_task(
        dp.start_polling(bot, polling_timeout=1, handle_signals=False, close_bot_session=False)
    )
    try:
        await fake.send_text(TOKEN, ANNA, "Хочу торт")
        [reply] = await fake.wait_for_messages(ANNA.id, within=5)
    finally:
        await dp.stop_polling()
        await polling

    assert reply.text == "Вы написали: Хочу торт"
    assert fake.method_counts["getUpdates"] >= 1
