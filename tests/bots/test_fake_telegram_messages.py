"""The fake Bot API sends, edits and deletes messages as Telegram does, read by a real aiogram Bot.

Markup is parsed as Telegram parses it, and what Telegram would refuse (bad
markup, a too long text, an invalid button) is refused with the same 400.
"""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    ChatMemberMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from backend.fake_telegram import FakeTelegram
from tests.fake_bot_api import ANNA, BORIS, BOT_ID, KEYBOARD, bot, fake, served

__all__ = ["bot", "fake", "served"]


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
