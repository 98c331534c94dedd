"""Internal endpoints: behind X-API-Key, and they really talk to the (fake) Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.fake_telegram import FakeTelegram, create_app
from tests.api import RunningServer, serve, serve_app, settings_for

TOKENS = {"customer": "111111:" + "C" * 35, "cashier": "222222:" + "K" * 35}
KEY = "internal-" + "k" * 40
SECRET = "s" * 40


@pytest.fixture
async def telegram() -> AsyncIterator[tuple[FakeTelegram, str]]:
    fake = FakeTelegram()
    async with serve_app(create_app(fake)) as url:
        yield fake, url


@pytest.fixture
async def dvorik(
    engine: AsyncEngine, telegram: tuple[FakeTelegram, str]
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
    dvorik: RunningServer, telegram: tuple[FakeTelegram, str]
) -> None:
    fake, _ = telegram
    async with httpx.AsyncClient(base_url=dvorik.url) as http:
        registered = await http.post("/internal/set-webhooks", headers={"X-API-Key": KEY})
        info = await http.get("/internal/webhook-info", headers={"X-API-Key": KEY})

    assert registered.status_code == 200
    for name, token in TOKENS.items():
        assert fake.bots[token].webhook_url == f"https://dvorik.example.ru/telegram/{name}"
        assert fake.bots[token].webhook_secret == SECRET
    assert info.json()["cashier"]["url"] == "https://dvorik.example.ru/telegram/cashier"


@pytest.mark.parametrize("key", [None, "", "wrong", KEY[:-1], KEY + "x"])
async def test_internal_endpoints_refuse_a_missing_or_wrong_key(
    dvorik: RunningServer, telegram: tuple[FakeTelegram, str], key: str | None
) -> None:
    headers = {} if key is None else {"X-API-Key": key}
    async with httpx.AsyncClient(base_url=dvorik.url) as http:
        assert (await http.post("/internal/set-webhooks", headers=headers)).status_code == 401
        assert (await http.get("/internal/webhook-info", headers=headers)).status_code == 401
    assert telegram[0].method_counts["setWebhook"] == 0
    assert telegram[0].method_counts["getWebhookInfo"] == 0
