"""The fake's Bot API fast path (backend/fake_telegram/fast_path.py) answers as its route does.

Each call goes to two fakes in step, one serving Bot API calls through the
fast path and one through FastAPI's route only; the statuses, content types
and bodies must match (message dates aside), and so must what each fake
recorded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from backend.fake_telegram import FakeTelegram, create_app
from backend.fake_telegram.fast_path import BotApiFastPath
from tests.api import serve_app
from tests.fake_bot_api import TOKEN

MARKUP = '{"inline_keyboard": [[{"text": "Да", "callback_data": "yes"}]]}'
CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", f"/bot{TOKEN}/sendMessage", {"json": {"chat_id": 7, "text": "Привет, «Анна»!"}}),
    (
        "POST",
        f"/bot{TOKEN}/sendmessage",
        {"data": {"chat_id": "7", "text": "form", "reply_markup": MARKUP}},
    ),
    (
        "POST",
        f"/bot{TOKEN}/sendPhoto",
        {
            "data": {"chat_id": "7", "caption": "код"},
            "files": {"photo": ("qr.png", b"\x89PNG...", "image/png")},
        },
    ),
    ("GET", f"/bot{TOKEN}/sendMessage", {"params": {"chat_id": 7, "text": "get"}}),
    ("POST", f"/bot{TOKEN}/sendTelepathy", {"json": {}}),
    ("POST", "/botnot-a-token/getMe", {}),
    (
        "POST",
        f"/bot{TOKEN}/sendMessage",
        {"content": b"{", "headers": {"content-type": "application/json"}},
    ),
    ("POST", f"/bot{TOKEN}/sendMessage", {"json": {"text": "кому?"}}),
    ("POST", f"/bot{TOKEN}/sendMessage", {"json": {"chat_id": 8, "text": "занято"}}),
    ("POST", f"/bot{TOKEN}/getMe", {}),
    ("POST", f"/bot{TOKEN}/getUpdates", {"json": {"timeout": 0}}),
]


@pytest.fixture
async def both() -> AsyncIterator[list[tuple[FakeTelegram, str]]]:
    fast, routed = FakeTelegram(), FakeTelegram()
    async with (
        serve_app(create_app(fast)) as fast_url,
        serve_app(create_app(routed, fast_path=False)) as routed_url,
    ):
        yield [(fast, fast_url), (routed, routed_url)]


def _dateless(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _dateless(item) for key, item in value.items() if key not in {"date", "time"}}
    if isinstance(value, list):
        return [_dateless(item) for item in value]
    return value


async def test_every_kind_of_call_is_answered_alike(
    both: list[tuple[FakeTelegram, str]],
) -> None:
    answers: list[list[tuple[int, str, Any]]] = []
    for fake, url in both:
        fake.fail_chat(8, "429", count=1, retry_after=5)
        async with httpx.AsyncClient(base_url=url) as http:
            seen = []
            for verb, path, options in CALLS:
                answer = await http.request(verb, path, **options)
                kind = answer.headers["content-type"]
                seen.append((answer.status_code, kind, _dateless(answer.json())))
        answers.append(seen)

    fast, routed = answers
    assert fast == routed
    assert [status for status, _, _ in fast] == [
        200,
        200,
        200,
        200,
        404,
        401,
        400,
        400,
        429,
        200,
        200,
    ]
    recorded = [
        [_dateless(message.as_dict()) for message in fake.messages_to(7)] for fake, _ in both
    ]
    assert recorded[0] == recorded[1] and len(recorded[0]) == 4


async def test_a_post_to_the_bot_api_never_reaches_fastapi_and_the_rest_does() -> None:
    fake = FakeTelegram()
    reached: list[str] = []

    async def fastapi(scope: Any, receive: Any, send: Any) -> None:
        reached.append(f"{scope['method']} {scope['path']}")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    transport = httpx.ASGITransport(app=BotApiFastPath(fastapi, fake))
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as http:
        sent = await http.post(f"/bot{TOKEN}/sendMessage", json={"chat_id": 7, "text": "Привет"})
        await http.get(f"/bot{TOKEN}/getMe")
        await http.post(f"/bot{TOKEN}/getUpdates", json={})
        await http.get("/fake/stats")

    assert sent.json()["result"]["text"] == "Привет"
    assert reached == [f"GET /bot{TOKEN}/getMe", f"POST /bot{TOKEN}/getUpdates", "GET /fake/stats"]
