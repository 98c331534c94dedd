"""The fake Bot API over plain HTTP: request shapes, tokens, and its control API.

JSON, form and query requests as Telegram takes them, its error answers, the
tokens it knows, and the /fake/... endpoints that drive users, faults and stats.
"""

from __future__ import annotations

import httpx
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter

from backend.fake_telegram import FakeTelegram, create_app
from tests.api import serve_app
from tests.fake_bot_api import ANNA, BOT_ID, KEYBOARD, TOKEN, bot, fake, served, url

__all__ = ["bot", "fake", "served", "url"]


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
