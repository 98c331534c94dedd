"""The workers' Bot API client (backend/telegram/bot_api.py) beside aiogram's own.

Workers send without aiogram, but a message must reach Telegram as aiogram's
would, and each refusal must mean what it means to aiogram: for every answer
the fake can give, the lean client raises the counterpart of what aiogram
raises, with Telegram's words.
"""

from __future__ import annotations

import pytest
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BufferedInputFile

from backend.fake_telegram import FakeTelegram, create_app
from backend.telegram.bot_api import (
    BadRequest,
    BotApi,
    BotApiError,
    Forbidden,
    NetworkError,
    RetryAfter,
    ServerError,
    Unauthorized,
)
from backend.telegram.clients import create_bot
from backend.telegram.qr_codes import qr_png
from tests.api import serve_app
from tests.broadcast_runs import TOKEN
from tests.factories import next_telegram_id
from tests.processes import free_port

TEXT = "Скидка <b>10%</b> до пятницы"
COUNTERPARTS: dict[type[Exception], type[BotApiError]] = {
    TelegramRetryAfter: RetryAfter,
    TelegramForbiddenError: Forbidden,
    TelegramBadRequest: BadRequest,
    TelegramServerError: ServerError,
    TelegramUnauthorizedError: Unauthorized,
}


async def test_a_text_reaches_telegram_as_aiogram_s_does(
    fake: FakeTelegram, bot: BotApi, served: tuple[FakeTelegram, str]
) -> None:
    chat = next_telegram_id()
    by_aiogram = create_bot(TOKEN, served[1])
    try:
        first = await by_aiogram.send_message(chat, TEXT, parse_mode="HTML")
    finally:
        await by_aiogram.session.close()
    second = await bot.send_message(chat, TEXT, "HTML")

    one, two = fake.messages_to(chat)
    assert second == two.message_id == first.message_id + 1
    assert (one.text, one.params.get("parse_mode")) == (TEXT, "HTML")
    assert (two.text, two.params.get("parse_mode")) == (TEXT, "HTML")


async def test_a_qr_picture_reaches_telegram_as_aiogram_s_upload_does(
    fake: FakeTelegram, bot: BotApi, served: tuple[FakeTelegram, str]
) -> None:
    chat, png = next_telegram_id(), qr_png("SWEET-4Q7K")
    by_aiogram = create_bot(TOKEN, served[1])
    try:
        picture = BufferedInputFile(png, filename="SWEET-4Q7K.png")
        await by_aiogram.send_photo(chat, picture, caption=TEXT, parse_mode="HTML")
    finally:
        await by_aiogram.session.close()
    message_id = await bot.send_photo(chat, png, "SWEET-4Q7K.png", TEXT, "HTML")

    one, two = fake.messages_to(chat)
    assert message_id == two.message_id
    assert (one.method, one.photo_size, one.caption) == ("sendPhoto", len(png), TEXT)
    assert (two.method, two.photo_size, two.caption) == ("sendPhoto", len(png), TEXT)
    assert one.params.get("parse_mode") == two.params.get("parse_mode") == "HTML"


@pytest.mark.parametrize("fault", ["429", "403", "400", "500", "502"])
async def test_a_refusal_is_the_counterpart_of_aiogram_s(
    fake: FakeTelegram, bot: BotApi, served: tuple[FakeTelegram, str], fault: str
) -> None:
    chat = next_telegram_id()
    fake.fail_chat(chat, fault, count=2, retry_after=3)
    by_aiogram = create_bot(TOKEN, served[1])
    try:
        with pytest.raises(Exception) as aiogram_raised:
            await by_aiogram.send_message(chat, TEXT)
    finally:
        await by_aiogram.session.close()
    with pytest.raises(BotApiError) as raised:
        await bot.send_message(chat, TEXT)

    assert type(raised.value) is COUNTERPARTS[type(aiogram_raised.value)], raised.value
    # Telegram's words (aiogram rewords a 429 around them)
    assert raised.value.message in getattr(aiogram_raised.value, "message", "")
    if isinstance(raised.value, RetryAfter):
        assert raised.value.retry_after == 3
    assert not fake.messages_to(chat)


async def test_a_refused_token_is_unauthorized() -> None:
    strict = FakeTelegram(tokens=[TOKEN])
    async with serve_app(create_app(strict)) as url:
        stranger = BotApi("111111:" + "G" * 35, url)
        try:
            with pytest.raises(Unauthorized):
                await stranger.send_message(next_telegram_id(), TEXT)
        finally:
            await stranger.close()


async def test_no_server_is_a_network_error_that_never_left() -> None:
    """The engine retries exactly these: the connection was never opened."""
    nowhere = BotApi(TOKEN, f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(NetworkError) as raised:
            await nowhere.send_message(next_telegram_id(), TEXT)
    finally:
        await nowhere.close()
    assert raised.value.never_sent


async def test_an_answer_too_late_times_out_but_the_message_arrives(
    served: tuple[FakeTelegram, str], fake: FakeTelegram
) -> None:
    """A timeout is the ambiguous case: Telegram got the request and acts on it anyway."""
    chat = next_telegram_id()
    impatient = BotApi(TOKEN, served[1], timeout=0.2)
    fake.slow(0.6, chat_id=chat)
    try:
        with pytest.raises(NetworkError, match="timeout") as raised:
            await impatient.send_message(chat, TEXT)
        assert not raised.value.never_sent
        sent = await fake.wait_for_messages(chat, 1, within=3)
    finally:
        fake.slow(0)
        await impatient.close()
    assert [message.text for message in sent] == [TEXT]


def test_the_worker_s_client_and_aiogram_s_agree_on_the_url(
    served: tuple[FakeTelegram, str],
) -> None:
    base = served[1] + "/"  # a trailing slash in TELEGRAM_API_URL, too
    by_aiogram = create_bot(TOKEN, base).session.api.api_url(token=TOKEN, method="sendMessage")
    assert str(BotApi(TOKEN, base).url("sendMessage")) == by_aiogram
