"""The fake Bot API, driven by a real aiogram Bot over real HTTP.

If aiogram parses what the fake answers and raises the right exception for
every injected fault, tests and benchmarks built on the fake mean something.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.filters import CommandStart
from aiogram.methods import EditMessageText, SendMessage
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    ChatMemberBanned,
    ChatMemberMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from fastapi import FastAPI, Request

from backend.fake_telegram import FakeTelegram, FakeUser, create_app
from tests.api import serve_app
from tests.processes import free_port
from tests.timing import LoopLag, until

TOKEN = "123456:" + "A" * 35
BOT_ID = 123456
SECRET = "hook-secret_" + "s" * 20
ANNA = FakeUser(1001, "Анна", username="anna_sweet")
BORIS = FakeUser(1002, "Борис")
KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="Мои бонусы", callback_data="bonus:1001")]]
)


@pytest.fixture(scope="module")
async def served() -> AsyncIterator[tuple[FakeTelegram, str]]:
    fake = FakeTelegram()
    async with serve_app(create_app(fake)) as url:
        yield fake, url


@pytest.fixture
def fake(served: tuple[FakeTelegram, str]) -> FakeTelegram:
    served[0].reset()
    return served[0]


@pytest.fixture
def url(served: tuple[FakeTelegram, str]) -> str:
    return served[1]


@pytest.fixture(scope="module")
async def bot(served: tuple[FakeTelegram, str]) -> AsyncIterator[Bot]:
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(served[1])))
    yield bot
    await bot.session.close()


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


async def test_get_me_describes_the_bot_behind_the_token(bot: Bot, fake: FakeTelegram) -> None:
    me = await bot.get_me()

    assert (me.id, me.is_bot, me.username) == (BOT_ID, True, "dvorik_123456_bot")
    assert fake.method_counts["getMe"] == 1


async def test_send_message_is_recorded_and_parses_as_a_message(
    bot: Bot, fake: FakeTelegram
) -> None:
    first = await bot.send_message(ANNA.id, "Привет, <b>Анна</b>!", reply_markup=KEYBOARD)
    second = await bot.send_message(ANNA.id, "Ещё", parse_mode="HTML")

    assert isinstance(first, Message)
    assert first.from_user is not None and first.from_user.id == BOT_ID
    assert (first.chat.id, first.chat.type, first.text) == (
        ANNA.id,
        "private",
        "Привет, <b>Анна</b>!",
    )
    assert first.reply_markup is not None  # models differ by their bot context, so dumps
    assert first.reply_markup.model_dump() == KEYBOARD.model_dump()
    assert second.message_id == first.message_id + 1
    sent = fake.messages_to(ANNA.id)
    assert [(s.method, s.message_id, s.text) for s in sent] == [
        ("sendMessage", first.message_id, "Привет, <b>Анна</b>!"),
        ("sendMessage", second.message_id, "Ещё"),
    ]
    assert sent[0].reply_markup == {
        "inline_keyboard": [[{"text": "Мои бонусы", "callback_data": "bonus:1001"}]]
    }
    assert fake.last_text(ANNA.id) == "Ещё"
    assert fake.messages_to(BORIS.id) == []
    assert fake.sent_count == 2


async def test_send_photo_upload_and_url_are_recorded(bot: Bot, fake: FakeTelegram) -> None:
    picture = b"\x89PNG\r\n\x1a\n" + bytes(5000)

    uploaded = await bot.send_photo(
        ANNA.id, BufferedInputFile(picture, "promo.png"), caption="Скидка 10%"
    )
    linked = await bot.send_photo(ANNA.id, "https://dvorik.example.ru/promo.jpg")

    assert uploaded.photo is not None and uploaded.photo[-1].file_size == len(picture)
    assert uploaded.caption == "Скидка 10%"
    assert linked.photo is not None
    photos = fake.messages_to(ANNA.id)
    assert [(p.method, p.photo_size, p.photo, p.caption) for p in photos] == [
        ("sendPhoto", len(picture), None, "Скидка 10%"),
        ("sendPhoto", None, "https://dvorik.example.ru/promo.jpg", None),
    ]


@pytest.mark.parametrize(
    ("kind", "error", "description"),
    [
        ("429", TelegramRetryAfter, "Too Many Requests: retry after 7"),
        ("403", TelegramForbiddenError, "Forbidden: bot was blocked by the user"),
        ("400", TelegramBadRequest, "Bad Request: chat not found"),
        ("500", TelegramServerError, "Internal Server Error"),
        ("502", TelegramServerError, "Bad Gateway"),
    ],
)
async def test_injected_faults_raise_aiograms_exceptions(
    bot: Bot,
    fake: FakeTelegram,
    kind: str,
    error: type[TelegramAPIError],
    description: str,
) -> None:
    fake.fail_chat(ANNA.id, kind, count=1, retry_after=7)

    with pytest.raises(error) as raised:
        await bot.send_message(ANNA.id, "Акция")
    await bot.send_message(BORIS.id, "Другому чату можно")
    await bot.send_message(ANNA.id, "Со второй попытки")

    assert description in raised.value.message  # aiogram prefixes 429s with its own words
    if isinstance(raised.value, TelegramRetryAfter):
        assert raised.value.retry_after == 7
    assert fake.faults_injected == 1
    assert [s.text for s in fake.messages_to(ANNA.id)] == ["Со второй попытки"]


async def test_faults_without_count_last_until_cleared(bot: Bot, fake: FakeTelegram) -> None:
    fake.fail_chat(ANNA.id, 429)

    for _ in range(3):
        with pytest.raises(TelegramRetryAfter):
            await bot.send_message(ANNA.id, "Акция")
    fake.clear_faults()
    await bot.send_message(ANNA.id, "Акция")

    assert fake.faults_injected == 3
    assert fake.error_counts[429] == 3


async def test_rate_faults_are_deterministic_for_a_seed(bot: Bot, fake: FakeTelegram) -> None:
    async def outcomes(seed: int) -> list[bool]:
        fake.reset()
        fake.fail_rate("500", 0.3, seed=seed)
        results = []
        for chat_id in range(2000, 2030):
            try:
                await bot.send_message(chat_id, "Рассылка")
                results.append(True)
            except TelegramServerError:
                results.append(False)
        return results

    first, again, other = await outcomes(42), await outcomes(42), await outcomes(7)

    assert first == again
    assert first != other
    assert 0 < first.count(False) < len(first)
    assert fake.faults_injected == other.count(False)
    assert fake.sent_count == other.count(True)


async def test_slow_answers_take_at_least_the_delay(bot: Bot, fake: FakeTelegram) -> None:
    fake.slow(0.3, chat_id=ANNA.id)

    started = time.monotonic()
    slowed = asyncio.create_task(bot.send_message(ANNA.id, "Медленно"))
    await until(lambda: fake.method_counts["sendMessage"] == 1, "Anna's call at the fake")
    await bot.send_message(BORIS.id, "Быстро")
    # Another chat is answered while Anna's call still waits: only hers is slowed.
    boris_first = not slowed.done()
    await slowed
    slow = time.monotonic() - started
    fake.slow(0.2)
    started = time.monotonic()
    await bot.get_me()
    everything = time.monotonic() - started

    assert slow >= 0.3
    assert boris_first
    assert everything >= 0.2


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


async def test_blocking_the_bot_delivers_my_chat_member_and_later_sends_get_403(
    bot: Bot, fake: FakeTelegram
) -> None:
    await bot.send_message(ANNA.id, "До блокировки")
    await fake.block_bot(TOKEN, ANNA)
    [update] = await bot.get_updates()

    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(ANNA.id, "После блокировки")
    member = await bot.get_chat_member(ANNA.id, ANNA.id)
    await fake.unblock_bot(TOKEN, ANNA)
    await bot.send_message(ANNA.id, "Снова можно")

    changed = update.my_chat_member
    assert changed is not None and changed.from_user.id == ANNA.id
    assert (changed.old_chat_member.status, changed.new_chat_member.status) == ("member", "kicked")
    assert changed.new_chat_member.user.id == BOT_ID
    assert isinstance(member, ChatMemberBanned)
    assert isinstance(await bot.get_chat_member(ANNA.id, ANNA.id), ChatMemberMember)
    assert fake.is_blocked(TOKEN, ANNA.id) is False
    assert [s.text for s in fake.messages_to(ANNA.id)] == ["До блокировки", "Снова можно"]
    assert fake.forbidden_count == 1


async def test_edits_and_deletes_follow_telegrams_rules(bot: Bot, fake: FakeTelegram) -> None:
    sent = await bot.send_message(ANNA.id, "Заказ принят", reply_markup=KEYBOARD)

    edited = await bot.edit_message_text("Заказ готов", chat_id=ANNA.id, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("Заказ готов", chat_id=ANNA.id, message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.reply_markup is None
    marked = await bot.edit_message_reply_markup(
        chat_id=ANNA.id, message_id=sent.message_id, reply_markup=KEYBOARD
    )
    assert isinstance(marked, Message) and marked.reply_markup is not None
    assert marked.reply_markup.model_dump() == KEYBOARD.model_dump()
    assert await bot.delete_message(ANNA.id, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(ANNA.id, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("Поздно", chat_id=ANNA.id, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query("12345")

    assert [s.method for s in fake.messages_to(ANNA.id)] == [
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "deleteMessage",
    ]
    assert fake.last_text(ANNA.id) == "Заказ готов"


async def test_content_telegram_would_refuse_is_refused(bot: Bot, fake: FakeTelegram) -> None:
    too_long = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="d" * 65)]]
    )
    with pytest.raises(TelegramBadRequest, match="tag <br> at line 1, column 7 is not supported"):
        await bot.send_message(ANNA.id, "Привет<br>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="tag <b> opened at line 1, column 1 is never"):
        await bot.send_message(ANNA.id, "<b>жирный", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(ANNA.id, "Кнопка", reply_markup=too_long)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(ANNA.id, "я" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(ANNA.id, "<b></b>", parse_mode="HTML")

    assert fake.messages_to(ANNA.id) == []
    assert fake.error_counts[400] == 5


async def test_markup_is_read_as_telegram_reads_it(bot: Bot, fake: FakeTelegram) -> None:
    """What the chat shows is the text without markup, and its entities (issue 12)."""
    html = await bot.send_message(
        ANNA.id, "<b>Скидка</b> &lt;20%&gt; до <i>пятницы</i>", parse_mode="HTML"
    )
    markdown = await bot.send_message(
        ANNA.id, "*Скидка* 20% до _пятницы_\\!", parse_mode="MarkdownV2"
    )
    photo = await bot.send_photo(
        ANNA.id,
        BufferedInputFile(b"png", filename="qr.png"),
        caption="Код <code>ABCD2345</code>",
        parse_mode="HTML",
    )
    edited = await bot.edit_message_text(
        "<s>Скидка</s> закончилась", chat_id=ANNA.id, message_id=html.message_id, parse_mode="HTML"
    )

    assert html.text == "Скидка <20%> до пятницы"
    assert html.entities is not None
    assert [(e.type, e.offset, e.length) for e in html.entities] == [
        ("bold", 0, 6),
        ("italic", 16, 7),
    ]
    assert markdown.text == "Скидка 20% до пятницы!"
    assert markdown.entities is not None
    assert [(e.type, e.offset, e.length) for e in markdown.entities] == [
        ("bold", 0, 6),
        ("italic", 14, 7),
    ]
    assert photo.caption == "Код ABCD2345"
    assert photo.caption_entities is not None
    assert [(e.type, e.offset, e.length) for e in photo.caption_entities] == [("code", 4, 8)]
    assert isinstance(edited, Message) and edited.text == "Скидка закончилась"
    assert edited.entities is not None and edited.entities[0].type == "strikethrough"
    sent = fake.messages_to(ANNA.id)[0]
    assert (sent.text, sent.params["parse_mode"]) == (
        "<b>Скидка</b> &lt;20%&gt; до <i>пятницы</i>",
        "HTML",
    )


@pytest.mark.parametrize(
    ("text", "parse_mode", "description"),
    [
        ("Скидка <b>20%", "HTML", "HTML: tag <b> opened at line 1, column 8 is never closed"),
        ("Маша & Ко", "HTML", "HTML: '&' at line 1, column 6 must be written as &amp;"),
        ("Скидка 20%!", "MarkdownV2", "MarkdownV2: '!' at line 1, column 11 is reserved"),
        ("*Скидка 20%", "MarkdownV2", "MarkdownV2: bold opened with '*' at line 1, column 1 is"),
    ],
)
async def test_bad_markup_is_refused_with_400_as_telegram_does(
    bot: Bot, fake: FakeTelegram, text: str, parse_mode: str, description: str
) -> None:
    with pytest.raises(TelegramBadRequest) as refused:
        await bot.send_message(ANNA.id, text, parse_mode=parse_mode)

    assert f"Bad Request: can't parse entities: {description}" in refused.value.message
    assert fake.messages_to(ANNA.id) == []
    assert fake.error_counts[400] == 1


async def test_commands_and_chat_members(bot: Bot, fake: FakeTelegram) -> None:
    commands = [
        BotCommand(command="start", description="Начать"),
        BotCommand(command="bonus", description="Бонусы"),
    ]

    assert await bot.set_my_commands(commands)
    assert [c.model_dump() for c in await bot.get_my_commands()] == [
        c.model_dump() for c in commands
    ]
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.get_chat_member(ANNA.id, BOT_ID)  # Anna never wrote: no chat with her
    fake.chats.remember(ANNA)
    assert isinstance(await bot.get_chat_member(ANNA.id, BOT_ID), ChatMemberMember)
    channel = fake.chats.add_channel("marmelad_dvorik")
    assert isinstance(await bot.get_chat_member("@marmelad_dvorik", BOT_ID), ChatMemberMember)
    fake.chats.remove_channel("marmelad_dvorik")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.get_chat_member(channel["id"], BOT_ID)
    assert await bot.close() is True


async def test_http_shapes_encodings_and_errors(url: str, fake: FakeTelegram) -> None:
    markup = '{"inline_keyboard": [[{"text": "Да", "callback_data": "yes"}]]}'
    async with httpx.AsyncClient(base_url=url) as http:
        as_json = await http.post(f"/bot{TOKEN}/sendMessage", json={"chat_id": 7, "text": "json"})
        as_form = await http.post(
            f"/bot{TOKEN}/sendmessage",
            data={"chat_id": "7", "text": "form", "reply_markup": markup},
        )
        as_query = await http.get(f"/bot{TOKEN}/sendMessage", params={"chat_id": 7, "text": "get"})
        unknown_method = await http.post(f"/bot{TOKEN}/sendTelepathy", json={})
        bad_token = await http.post("/botnot-a-token/getMe")
        bad_json = await http.post(
            f"/bot{TOKEN}/sendMessage", content=b"{", headers={"content-type": "application/json"}
        )
        no_chat = await http.post(f"/bot{TOKEN}/sendMessage", json={"text": "кому?"})
        bad_markup = await http.post(
            f"/bot{TOKEN}/sendMessage", data={"chat_id": "7", "text": "x", "reply_markup": "{"}
        )

    assert as_json.status_code == 200 and as_json.json()["ok"] is True
    assert as_form.json()["result"]["reply_markup"] == {
        "inline_keyboard": [[{"text": "Да", "callback_data": "yes"}]]
    }
    assert as_query.json()["result"]["text"] == "get"
    assert [s.text for s in fake.messages_to(7)] == ["json", "form", "get"]
    assert fake.messages_to(7)[1].reply_markup == {
        "inline_keyboard": [[{"text": "Да", "callback_data": "yes"}]]
    }
    assert (unknown_method.status_code, unknown_method.json()) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
    )
    assert (bad_token.status_code, bad_token.json()) == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    assert bad_json.status_code == 400 and bad_json.json()["error_code"] == 400
    assert no_chat.json()["description"] == "Bad Request: chat_id is empty"
    assert bad_markup.json()["description"] == (
        "Bad Request: can't parse reply keyboard markup JSON object"
    )


async def test_only_known_tokens_exist_when_tokens_are_given() -> None:
    fake = FakeTelegram([TOKEN], require_known_chats=True)
    async with serve_app(create_app(fake)) as url, httpx.AsyncClient(base_url=url) as http:
        known = await http.post(f"/bot{TOKEN}/getMe")
        other = await http.post("/bot654321:" + "B" * 35 + "/getMe")
        stranger = await http.post(f"/bot{TOKEN}/sendMessage", json={"chat_id": 5, "text": "?"})
        await fake.send_text(TOKEN, ANNA, "Привет")
        friend = await http.post(
            f"/bot{TOKEN}/sendMessage", json={"chat_id": ANNA.id, "text": "Привет!"}
        )

    assert known.status_code == 200
    assert other.status_code == 401
    assert stranger.json()["description"] == "Bad Request: chat not found"
    assert friend.json()["result"]["chat"]["first_name"] == "Анна"


async def test_control_api_drives_users_faults_and_stats(
    url: str, bot: Bot, fake: FakeTelegram
) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        text = await http.post(
            f"/fake/users/{ANNA.id}/text",
            json={"token": TOKEN, "text": "Привет", "first_name": "Анна"},
        )
        await bot.send_message(ANNA.id, "Здравствуйте", reply_markup=KEYBOARD)
        messages = await http.get(f"/fake/chats/{ANNA.id}/messages", params={"token": TOKEN})
        button = await http.post(
            f"/fake/users/{ANNA.id}/button",
            json={"token": TOKEN, "callback_data": "bonus:1001", "message_id": 2},
        )
        faults = await http.post(
            "/fake/faults", json={"chat": {"chat_id": ANNA.id, "kind": 429, "retry_after": 3}}
        )
        bad_fault = await http.post("/fake/faults", json={"chat": {"chat_id": 1, "kind": "418"}})
        with pytest.raises(TelegramRetryAfter):
            await bot.send_message(ANNA.id, "Спешим")
        slow = await http.post("/fake/faults", json={"clear": True, "slow": {"seconds": 0.01}})
        blocked = await http.post(f"/fake/users/{ANNA.id}/block", json={"token": TOKEN})
        stats = (await http.get("/fake/stats")).json()
        raw = await http.post("/fake/updates", json={"token": TOKEN, "update": {"garbage": 1}})
        reset = await http.post("/fake/reset")
        after = (await http.get("/fake/stats")).json()

    assert text.status_code == 200 and text.json()["via"] == "queue"
    assert text.json()["update"]["message"]["from"]["first_name"] == "Анна"
    [sent] = messages.json()
    assert (sent["method"], sent["text"], sent["message_id"]) == ("sendMessage", "Здравствуйте", 2)
    query = button.json()["update"]["callback_query"]
    assert (query["data"], query["message"]["text"]) == ("bonus:1001", "Здравствуйте")
    assert faults.status_code == slow.status_code == 200
    assert bad_fault.status_code == 422
    assert blocked.json()["update"]["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    assert stats["sent_count"] == 1 and stats["faults_injected"] == 1
    assert stats["method_counts"]["sendMessage"] == 2
    assert stats["bots"] == [
        {"id": BOT_ID, "username": "dvorik_123456_bot", "webhook_url": "", "pending_updates": 3}
    ]
    assert raw.json()["via"] == "queue"
    assert reset.status_code == 200 and after["sent_count"] == 0 and after["bots"] == []
