"""Bot API calls answered before FastAPI's routing: the fake's hot path.

In a benchmark the fake shares the machine with what it measures, and its
CPU is not the shop's: Telegram's servers are elsewhere. Profiled during a
broadcast (issue 19), FastAPI's routing, dependency injection and exception
middleware were about two thirds of the fake's CPU per `sendMessage`, more
than the fake's own work. This middleware answers a POST to
`/bot<token>/<method>` itself, with the same handler code and the same bytes
as the route in `routes/bot_api.py`, and passes everything else on: GETs,
`getUpdates` (a long poll that watches for its caller hanging up), the
`/fake/...` control API. `tests/bots/test_fake_telegram_fast_path.py` holds
the two paths to the same answers.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.fake_telegram.errors import BotApiError
from backend.fake_telegram.models import jsonable
from backend.fake_telegram.params import read_params
from backend.fake_telegram.state import FakeTelegram

BOT_CALL = re.compile(r"/bot([^/]+)/([^/]+)")


class BotApiFastPath:
    """ASGI middleware: POST /bot<token>/<method> (not getUpdates) served here."""

    def __init__(self, app: ASGIApp, fake: FakeTelegram) -> None:
        self.app = app
        self.fake = fake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        call = _bot_call(scope)
        if call is None:
            await self.app(scope, receive, send)
            return
        token, method = call
        try:
            self.fake.bot(token)  # 401 before anything else, as Telegram does
            params = await read_params(Request(scope, receive))
            result = await self.fake.call(token, method, params)
        except BotApiError as error:
            await _answer(send, error.error_code, error.payload())
            return
        await _answer(send, 200, {"ok": True, "result": jsonable(result)})


def _bot_call(scope: Scope) -> tuple[str, str] | None:
    """(token, method) of a call this path serves, or None."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    found = BOT_CALL.fullmatch(scope["path"])
    if found is None or found[2].lower() == "getupdates":
        return None
    return found[1], found[2]


async def _answer(send: Send, status: int, payload: dict[str, Any]) -> None:
    """The bytes Starlette's JSONResponse sends for `payload`."""
    body = json.dumps(
        payload, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")
    headers = [
        (b"content-length", str(len(body)).encode()),
        (b"content-type", b"application/json"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
