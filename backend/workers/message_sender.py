"""`sendMessage` for the broadcast engine without aiogram's models: its hot path.

Through aiogram one message costs a pydantic method object, a multipart form
and a validated `Message` answer; at a thousand messages a second that is most
of a worker's CPU, and the engine only needs the message id or the error. This
posts a JSON body (prepared before the message's slot comes, so a request
leaves as soon as its write-ahead mark commits) through the bot's own aiohttp
session and reads three fields of the answer. Failures raise aiogram's own
exception classes, chosen by the rules of aiogram's `check_response`, so the
engine handles a lean send and an aiogram call alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from json.encoder import encode_basestring
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    ClientDecodeError,
    RestartingTelegram,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import SendMessage, TelegramMethod
from yarl import URL

JSON_HEADERS = {"Content-Type": "application/json"}
# A JSON string literal, non-ASCII kept as is (as `json.dumps(ensure_ascii=False)`).
_string: Callable[[str], str] = encode_basestring

_BY_STATUS: dict[int, type[TelegramAPIError]] = {
    HTTPStatus.BAD_REQUEST: TelegramBadRequest,
    HTTPStatus.NOT_FOUND: TelegramNotFound,
    HTTPStatus.CONFLICT: TelegramConflictError,
    HTTPStatus.UNAUTHORIZED: TelegramUnauthorizedError,
    HTTPStatus.FORBIDDEN: TelegramForbiddenError,
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: TelegramEntityTooLarge,
}


@dataclass(frozen=True, slots=True)
class PreparedMessage:
    """One message ready to go: the request body is built once, whatever the retries."""

    chat_id: int
    text: str
    parse_mode: str | None
    body: bytes


class MessageSender:
    """Sends prepared messages through `bot`'s session (its connection pool and timeout)."""

    def __init__(self, bot: Bot) -> None:
        if not isinstance(bot.session, AiohttpSession):
            raise TypeError("the lean sender needs aiogram's AiohttpSession")
        self.bot = bot
        self.session: AiohttpSession = bot.session
        # Parsed once: aiohttp parses a str URL on every request.
        self.url = URL(self.session.api.api_url(token=bot.token, method="sendMessage"))
        self.timeout = aiohttp.ClientTimeout(total=float(self.session.timeout))

    @staticmethod
    def prepare(chat_id: int, text: str, parse_mode: str | None) -> PreparedMessage:
        # Written by hand around the C string encoder: `json.dumps` with its
        # options builds an encoder per call, a visible share of a worker's CPU.
        body = f'{{"chat_id":{int(chat_id)},"text":{_string(text)}'
        if parse_mode is not None:
            body += f',"parse_mode":{_string(parse_mode)}'
        return PreparedMessage(chat_id, text, parse_mode, (body + "}").encode())

    async def send(self, message: PreparedMessage) -> int:
        """Telegram's message id; raises as aiogram would for the same answer."""
        http = await self.session.create_session()
        try:
            async with http.post(
                self.url, data=message.body, headers=JSON_HEADERS, timeout=self.timeout
            ) as response:
                status, raw = response.status, await response.read()
        except TimeoutError as error:
            raise TelegramNetworkError(_method(message), "Request timeout error") from error
        except aiohttp.ClientError as error:
            raise TelegramNetworkError(
                _method(message), f"{type(error).__name__}: {error}"
            ) from error
        try:
            answer = json.loads(raw)
            if HTTPStatus.OK <= status <= HTTPStatus.IM_USED and answer["ok"]:
                return int(answer["result"]["message_id"])
            description = str(answer["description"])
        except (ValueError, KeyError, TypeError) as error:
            raise ClientDecodeError("Failed to decode object", error, raw) from error
        raise _refusal(_method(message), status, description, answer.get("parameters") or {})


def _method(message: PreparedMessage) -> SendMessage:
    """aiogram's exceptions name the call; built only when one is raised."""
    return SendMessage(chat_id=message.chat_id, text=message.text, parse_mode=message.parse_mode)


def _refusal(
    method: TelegramMethod[Any], status: int, description: str, parameters: dict[str, Any]
) -> TelegramAPIError:
    """The exception aiogram's `check_response` raises for this answer."""
    if retry_after := parameters.get("retry_after"):
        return TelegramRetryAfter(method=method, message=description, retry_after=retry_after)
    if migrate_to := parameters.get("migrate_to_chat_id"):
        return TelegramMigrateToChat(
            method=method, message=description, migrate_to_chat_id=migrate_to
        )
    if kind := _BY_STATUS.get(status):
        return kind(method=method, message=description)
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        kind = RestartingTelegram if "restart" in description else TelegramServerError
    else:
        kind = TelegramAPIError
    return kind(method=method, message=description)
