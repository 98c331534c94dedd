"""Internal endpoints: behind X-API-Key, and they really talk to the (fake) Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api import RunningServer, serve, serve_app, settings_for

TOKENS = {"customer": "111111:" + "C" * 35, "cashier": "222222:" + "K" * 35}
KEY = "internal-" + "k" * 40
SECRET = "s" * 40


class FakeBotApi:
    """Just enough of the Bot API to see what we register (the full fake is the bots issue's)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.webhooks: dict[str, str] = {}
        self.app = FastAPI()

        @self.app.post("/bot{token}/{method}")
        async def method(token: str, method: str, request: Request) -> dict[str, Any]:
            payload = await request.json()
            self.calls.append((token, method, payload))
            if method == "setWebhook":
                self.webhooks[token] = payload["url"]
                return {"ok": True, "result": True}
            return {
                "ok": True,
                "result": {"url": self.webhooks.get(token, ""), "pending_update_count": 0},
            }


@pytest.fixture
async def telegram() -> AsyncIterator[tuple[FakeBotApi, str]]:
    fake = FakeBotApi()
    async with serve_app(fake.app) as url:
        yield fake, url


@pytest.fixture
async def dvorik(
    engine: AsyncEngine, telegram: tuple[FakeBotApi, str]
) -> AsyncIterator[RunningServer]:
    settings = settings_for(
        engine,
        internal_api_key=KEY,
        telegram_api_url=telegram[1],
        telegram_bot_token=TOKENS["customer"],
        telegram_auth_bot_token=TOKENS["cashier"],
        webhook_base_url="https://dvorik.example.ru",
        webhook_secret=SECRET,
    )
    async with serve(settings) as running:
        yield running


async def test_operator_registers_both_webhooks_with_the_api_key(
    dvorik: RunningServer, telegram: tuple[FakeBotApi, str]
) -> None:
    fake, _ = telegram
    async with httpx.AsyncClient(base_url=dvorik.url) as http:
        registered = await http.post("/internal/set-webhooks", headers={"X-API-Key": KEY})
        info = await http.get("/internal/webhook-info", headers={"X-API-Key": KEY})

    assert registered.status_code == 200
    assert fake.webhooks == {
        TOKENS["customer"]: "https://dvorik.example.ru/telegram/customer",
        TOKENS["cashier"]: "https://dvorik.example.ru/telegram/cashier",
    }
    registrations = [payload for _, method, payload in fake.calls if method == "setWebhook"]
    assert [payload["secret_token"] for payload in registrations] == [SECRET, SECRET]
    assert info.json()["cashier"]["url"] == "https://dvorik.example.ru/telegram/cashier"


@pytest.mark.parametrize("key", [None, "", "wrong", KEY[:-1], KEY + "x"])
async def test_internal_endpoints_refuse_a_missing_or_wrong_key(
    dvorik: RunningServer, telegram: tuple[FakeBotApi, str], key: str | None
) -> None:
    headers = {} if key is None else {"X-API-Key": key}
    async with httpx.AsyncClient(base_url=dvorik.url) as http:
        assert (await http.post("/internal/set-webhooks", headers=headers)).status_code == 401
        assert (await http.get("/internal/webhook-info", headers=headers)).status_code == 401
    assert telegram[0].calls == []
