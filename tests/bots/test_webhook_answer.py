"""A method a handler returns goes back to Telegram as the webhook's JSON answer.

The bytes are pinned: they are what Telegram executes. The webhook route sends
the dict `webhook_answer` builds, rendered by FastAPI's JSONResponse.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import AnswerCallbackQuery, SendMessage, SendPhoto, TelegramMethod
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from backend.bots.webhooks import webhook_answer

KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[
        [
            InlineKeyboardButton(text="Погасить", callback_data="redeem:7:990"),
            InlineKeyboardButton(text="Отмена", callback_data="cancel:7"),
        ],
        [InlineKeyboardButton(text="Сайт", url="https://example.com/?a=1&b=2")],
    ]
)
KEYBOARD_JSON = (
    '{"inline_keyboard":[[{"text":"Погасить","callback_data":"redeem:7:990"},'
    '{"text":"Отмена","callback_data":"cancel:7"}],'
    '[{"text":"Сайт","url":"https://example.com/?a=1&b=2"}]]}'
)


class RecordingSession(BaseSession):
    """Answers every call with `True` and remembers it, instead of reaching Telegram."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[TelegramMethod[Any]] = []

    async def make_request(  # the signature is aiogram's
        self,
        bot: Bot,
        method: TelegramMethod[Any],
        timeout: int | None = None,  # noqa: ASYNC109
    ) -> Any:
        self.calls.append(method)
        return True

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield b""

    async def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        pytest.param(
            AnswerCallbackQuery(callback_query_id="4000000000000001"),
            '{"method":"answerCallbackQuery","callback_query_id":"4000000000000001"}',
            id="acknowledge",
        ),
        pytest.param(
            AnswerCallbackQuery(
                callback_query_id="42", text="Считаем…", show_alert=True, cache_time=0
            ),
            '{"method":"answerCallbackQuery","callback_query_id":"42","text":"Считаем…",'
            '"show_alert":true,"cache_time":0}',
            id="toast",
        ),
        pytest.param(
            SendMessage(chat_id=5_000_001, text="Привет"),
            '{"method":"sendMessage","chat_id":5000001,"text":"Привет"}',
            id="text-without-defaults",
        ),
        pytest.param(
            SendMessage(
                chat_id=5_000_001,
                text="<b>Код</b> ABCD1234 — 990 ₽",
                parse_mode="HTML",
                reply_markup=KEYBOARD,
            ),
            '{"method":"sendMessage","chat_id":5000001,"text":"<b>Код</b> ABCD1234 — 990 ₽",'
            f'"parse_mode":"HTML","reply_markup":{KEYBOARD_JSON}}}',
            id="text-with-keyboard",
        ),
        pytest.param(
            SendPhoto(
                chat_id=5_000_002,
                photo="AgACAgIAAxkBAAIBQ2fake",
                caption="Ваш код: <code>ABCD1234</code>",
                parse_mode="HTML",
                reply_markup=KEYBOARD,
                protect_content=True,
            ),
            '{"method":"sendPhoto","chat_id":5000002,"photo":"AgACAgIAAxkBAAIBQ2fake",'
            '"caption":"Ваш код: <code>ABCD1234</code>","parse_mode":"HTML",'
            f'"protect_content":true,"reply_markup":{KEYBOARD_JSON}}}',
            id="photo-caption-keyboard",
        ),
    ],
)
async def test_the_answer_is_the_method_as_json(method: TelegramMethod[Any], expected: str) -> None:
    session = RecordingSession()
    answer = await webhook_answer(Bot("123456:fake-token", session=session), method)
    assert JSONResponse(jsonable_encoder(answer)).body == expected.encode()
    assert session.calls == []


async def test_a_method_uploading_a_file_is_called_not_answered() -> None:
    session = RecordingSession()
    upload = SendPhoto(
        chat_id=5_000_003,
        photo=BufferedInputFile(b"\x89PNG fake", filename="code.png"),
        caption="Ваш код",
        reply_markup=KEYBOARD,
    )
    answer = await webhook_answer(Bot("123456:fake-token", session=session), upload)
    assert answer == {"ok": True}
    assert session.calls == [upload]
