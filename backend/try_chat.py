"""`dvorik try customer|cashier`: chat with a bot in the terminal, no Telegram needed.

The project's fake Bot API runs in this process on a free port, the bot
long-polls it exactly as it would poll Telegram, and what you type is sent
to the bot as if from a Telegram user. Buttons are pressed with `/press N`.

The bot's Mini App (the customer's card, the cashier's scanner) is served on
another free port, and its URL printed with initData signed for you the way
Telegram opens it, so a browser shows what the bot's menu button would.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from backend.bots.dispatchers import create_bot_apps
from backend.domain import cashiers
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.fake_telegram import FakeTelegram, FakeUser, SentMessage, create_app
from backend.mini_apps import mount_mini_apps
from backend.mini_apps.init_data import LaunchUser, launch_url, signed
from backend.runtime import Runtime
from backend.settings import Settings

CUSTOMER_TOKEN = "100000001:" + "try-customer-bot-token-xxxxxxxxxxxxx"
CASHIER_TOKEN = "100000002:" + "try-cashier-bot-token-xxxxxxxxxxxxxx"
YOU = FakeUser(id=777_000_001, first_name="Гость", last_name="Терминалов", username="guest")
REPLY_WAIT = 3.0

ReadLine = Callable[[], Awaitable[str | None]]
Show = Callable[[str], None]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def describe(message: SentMessage) -> str:
    """One bot message as terminal text, inline buttons numbered for /press."""
    body = message.text or message.caption or ""
    if message.method == "sendPhoto":
        body = f"[картинка: QR-код] {body}"
    lines = [f"🤖 {body}"]
    for number, label in enumerate(_inline_labels(message.reply_markup), start=1):
        lines.append(f"   [{number}] {label}   (нажать: /press {number})")
    menu = _menu_labels(message.reply_markup)
    if menu:
        lines.append("   меню: " + " · ".join(menu) + "   (нажать: написать текст кнопки)")
    return "\n".join(lines)


def _menu_labels(markup: dict[str, Any] | None) -> list[str]:
    """The reply-keyboard (menu) labels: a press sends the label, so typing it is pressing it."""
    rows = (markup or {}).get("keyboard") or []
    return [button.get("text", "") for row in rows for button in row]


def _inline_labels(markup: dict[str, Any] | None) -> list[str]:
    rows = (markup or {}).get("inline_keyboard") or []
    return [button.get("text", "") for row in rows for button in row]


def _inline_data(markup: dict[str, Any] | None) -> list[str]:
    rows = (markup or {}).get("inline_keyboard") or []
    return [button.get("callback_data", "") for row in rows for button in row]


async def converse(fake: FakeTelegram, token: str, read: ReadLine, show: Show) -> None:
    """Relay typed lines to the bot and print its answers until EOF or /quit."""
    seen = len(fake.messages_to(YOU.id, token=token))
    last_with_buttons: SentMessage | None = None
    while (line := await read()) is not None:
        line = line.strip()
        if line in ("/quit", "/exit"):
            break
        if not line:
            continue
        if line.startswith("/press"):
            data = _inline_data(last_with_buttons.reply_markup if last_with_buttons else None)
            index = line.removeprefix("/press").strip()
            if not index.isdigit() or not 1 <= int(index) <= len(data) or not last_with_buttons:
                show("(нет такой кнопки)")
                continue
            await fake.press_button(
                token, YOU, data[int(index) - 1], last_with_buttons.message_id or 0
            )
        else:
            await fake.send_text(token, YOU, line)
        replies = await fake.wait_for_messages(YOU.id, seen + 1, within=REPLY_WAIT, token=token)
        await asyncio.sleep(0.3)  # a reply may come in several messages
        replies = fake.messages_to(YOU.id, token=token)
        for message in replies[seen:]:
            if message.method in ("sendMessage", "sendPhoto", "editMessageText"):
                show(describe(message))
                if _inline_labels(message.reply_markup):
                    last_with_buttons = message
        seen = len(replies)


async def _serve(app: FastAPI) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    """`app` on a free local port, started."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no started event
        await asyncio.sleep(0.01)
    return server, serving, port


def mini_app_url(role: str, port: int) -> str:
    """The role's Mini App on `port`, opened by YOU, as the bot's menu button opens it."""
    page, token = ("card", CUSTOMER_TOKEN) if role == "customer" else ("till", CASHIER_TOKEN)
    you = LaunchUser(YOU.id, YOU.first_name, YOU.last_name, YOU.username, "ru")
    return launch_url(f"http://127.0.0.1:{port}/app/{page}", signed(you, token, now=utcnow()))


async def try_bot(role: str, settings: Settings, read: ReadLine, show: Show) -> None:
    fake = FakeTelegram()
    server, serving, port = await _serve(create_app(fake))
    local = settings.model_copy(
        update={
            "telegram_api_url": f"http://127.0.0.1:{port}",
            "telegram_bot_token": SecretStr(CUSTOMER_TOKEN),
            "telegram_auth_bot_token": SecretStr(CASHIER_TOKEN),
            "redis_url": None,
            "redis_queue_url": None,
            "redis_state_url": None,
            "redis_cache_url": None,
        }
    )
    runtime = Runtime.start(local)
    bot_apps = create_bot_apps(runtime)
    pages = FastAPI()
    pages.state.runtime = runtime
    mount_mini_apps(pages)
    page_server, page_serving, page_port = await _serve(pages)
    try:
        assert bot_apps is not None
        app = bot_apps.customer if role == "customer" else bot_apps.cashier
        polling = asyncio.create_task(
            app.dispatcher.start_polling(app.bot, handle_signals=False, polling_timeout=1)
        )
        show(f"Чат с ботом ({role}). Пишите сообщения; /press N нажимает кнопку; /quit — выход.")
        if role == "cashier":
            await _join_as_cashier(runtime, fake, show)
        show(f"Мини-приложение (откройте в браузере): {mini_app_url(role, page_port)}")
        await converse(fake, app.bot.token, read, show)
        await app.dispatcher.stop_polling()
        with suppress(asyncio.CancelledError, RuntimeError):
            await polling
    finally:
        if bot_apps is not None:
            await bot_apps.close()
        page_server.should_exit = server.should_exit = True
        await page_serving
        await runtime.stop()
        await serving


async def _join_as_cashier(runtime: Runtime, fake: FakeTelegram, show: Show) -> None:
    async with runtime.sessions() as session, session.begin():
        existing = await cashiers.find_by_telegram_id(session, YOU.id)
        invite = None
        if existing is None:
            _, invite = await cashiers.invite(
                session,
                "Кассир из терминала",
                "Демо-магазин",
                actor=Actor.system("try"),
                now=utcnow(),
            )
    if invite is not None:
        show(f"(вы приглашены кассиром: /start {invite})")
        await converse(fake, CASHIER_TOKEN, _lines([f"/start {invite}"]), show)


def _lines(lines: list[str]) -> ReadLine:
    pending = list(lines)

    async def read() -> str | None:
        return pending.pop(0) if pending else None

    return read
