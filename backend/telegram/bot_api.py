"""The customer bot's Bot API client for processes that only send: the workers.

A worker sends two kinds of message, a text (`sendMessage`, the broadcast
engine's and the notices') and a discount's QR picture (`sendPhoto`), and
needs back only the message id or why Telegram refused. aiogram answers with
validated models of every Telegram type, and importing them was 131 MB of a
worker's resident memory and three seconds of CPU at every start (issue 19:
the worker's 300 MB budget, with 20% to spare). This client posts JSON or a
multipart form through one aiohttp session and reads the answer's few fields;
the bots, which handle updates, keep aiogram (`backend.telegram.clients`).

Refusals are raised as `BotApiError` subclasses by the rules Telegram's answers
follow (and aiogram's `check_response` applies): a `retry_after` parameter is
flood control whatever the status, then the status decides. `NetworkError`
says whether the request can have reached Telegram.
"""

from __future__ import annotations

import json
import ssl
from http import HTTPStatus
from typing import Any

import aiohttp
import certifi
from yarl import URL

JSON_HEADERS = {"Content-Type": "application/json"}
DEFAULT_TIMEOUT = 60.0  # seconds for one request, as aiogram's session
DEFAULT_POOL = 100  # connections open at once, as aiogram's session


class BotApiError(Exception):
    """Telegram refused a call (or its answer was lost); `message` is Telegram's description."""

    def __init__(self, method: str, message: str) -> None:
        super().__init__(f"{method}: {message}")
        self.method = method
        self.message = message


class RetryAfter(BotApiError):
    """429, flood control: nothing sent; the bot may call again after `retry_after` seconds."""

    def __init__(self, method: str, message: str, retry_after: int) -> None:
        super().__init__(method, message)
        self.retry_after = retry_after


class BadRequest(BotApiError):
    """400: chat not found, a text Telegram cannot parse, a deactivated account, …"""


class Unauthorized(BotApiError):
    """401: the bot's token is refused; no call of this bot can succeed."""


class Forbidden(BotApiError):
    """403: the customer blocked the bot (or never started it)."""


class ServerError(BotApiError):
    """5xx: Telegram failed; the call certainly did not take effect and may be repeated."""


class NetworkError(BotApiError):
    """No answer: a timeout, a refused or lost connection, an unreadable body.

    `never_sent` is true only when the connection was never opened, so the
    request cannot have reached Telegram and may be repeated safely.
    """

    def __init__(self, method: str, message: str, *, never_sent: bool = False) -> None:
        super().__init__(method, message)
        self.never_sent = never_sent


_BY_STATUS: dict[int, type[BotApiError]] = {
    HTTPStatus.BAD_REQUEST: BadRequest,
    HTTPStatus.UNAUTHORIZED: Unauthorized,
    HTTPStatus.FORBIDDEN: Forbidden,
}


class BotApi:
    """One bot's token on a Bot API server (TELEGRAM_API_URL): calls and their answers.

    The aiohttp session, with its pool of `pool` connections, is opened at
    the first call and shared by every call of the process's event loop.
    """

    def __init__(
        self,
        token: str,
        api_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        pool: int = DEFAULT_POOL,
    ) -> None:
        self.base = f"{api_url.rstrip('/')}/bot{token}/"
        self.pool = pool
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._urls: dict[str, URL] = {}
        self._session: aiohttp.ClientSession | None = None

    def url(self, method: str) -> URL:
        """The method's URL, parsed once (aiohttp parses a str URL on every request)."""
        known = self._urls.get(method)
        if known is None:
            known = self._urls[method] = URL(self.base + method)
        return known

    async def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            tls = ssl.create_default_context(cafile=certifi.where())
            connector = aiohttp.TCPConnector(limit=self.pool, ssl=tls, ttl_dns_cache=3600)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, data: bytes | aiohttp.FormData) -> Any:
        """POST `data` (a JSON body, or a multipart form) to `method`; the answer's `result`."""
        http = await self.session()
        headers = JSON_HEADERS if isinstance(data, bytes) else None
        try:
            async with http.post(
                self.url(method), data=data, headers=headers, timeout=self.timeout
            ) as response:
                status, raw = response.status, await response.read()
        except (TimeoutError, aiohttp.ClientError) as error:
            raise _no_answer(method, error) from error
        return _result(method, status, raw)

    async def send_message(self, chat_id: int, text: str, parse_mode: str | None = None) -> int:
        """The sent message's id."""
        return await self.send_json_message(message_body(chat_id, text, parse_mode))

    async def send_json_message(self, body: bytes) -> int:
        """`sendMessage` with a body built beforehand (`message_body`); the message's id."""
        return _message_id("sendMessage", await self.call("sendMessage", body))

    async def send_photo(
        self, chat_id: int, photo: bytes, filename: str, caption: str, parse_mode: str | None
    ) -> int:
        """Upload `photo` (PNG bytes) with `caption`; the sent message's id."""
        form = aiohttp.FormData(quote_fields=False)
        form.add_field("chat_id", str(int(chat_id)))
        form.add_field("caption", caption)
        if parse_mode is not None:
            form.add_field("parse_mode", parse_mode)
        form.add_field("photo", photo, filename=filename, content_type="image/png")
        return _message_id("sendPhoto", await self.call("sendPhoto", form))


def message_body(chat_id: int, text: str, parse_mode: str | None) -> bytes:
    """`sendMessage`'s JSON body, non-ASCII kept as is.

    Written by hand around the C string encoder: `json.dumps` with its options
    builds an encoder per call, a visible share of a worker's CPU at a
    thousand messages a second.
    """
    body = f'{{"chat_id":{int(chat_id)},"text":{_string(text)}'
    if parse_mode is not None:
        body += f',"parse_mode":{_string(parse_mode)}'
    return (body + "}").encode()


_string = json.encoder.encode_basestring  # a JSON string literal, as ensure_ascii=False


def _no_answer(method: str, error: Exception) -> NetworkError:
    """The request failed without an answer; never sent if no connection was ever opened."""
    never_sent = isinstance(error, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)
    if isinstance(error, TimeoutError) and not never_sent:
        return NetworkError(method, "Request timeout error")
    return NetworkError(method, f"{type(error).__name__}: {error}", never_sent=never_sent)


def _result(method: str, status: int, raw: bytes) -> Any:
    """The answer's `result`, or the refusal it says, raised."""
    try:
        answer = json.loads(raw)
        if HTTPStatus.OK <= status <= HTTPStatus.IM_USED and answer["ok"]:
            return answer["result"]
        description = str(answer["description"])
        parameters = answer.get("parameters") or {}
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise NetworkError(method, f"an answer that is not the Bot API's: {error}") from error
    if retry_after := parameters.get("retry_after"):
        raise RetryAfter(method, description, int(retry_after))
    if kind := _BY_STATUS.get(status):
        raise kind(method, description)
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        raise ServerError(method, description)
    raise BotApiError(method, description)


def _message_id(method: str, result: Any) -> int:
    try:
        return int(result["message_id"])
    except (KeyError, TypeError, ValueError) as error:
        raise NetworkError(method, f"an answer without a message id: {error}") from error
