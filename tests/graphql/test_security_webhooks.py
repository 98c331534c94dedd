"""Attacks on the webhooks and the internal endpoints are refused.

What test_graphql_auth, test_internal_endpoints, test_graphql_limits and
test_bots already show (alg none, another key, expired and deactivated-at-issue
tokens, logout, a wrong or missing secret or key, eight parallel guesses) is
not repeated; this adds webhooks for both bots with near-miss secrets, and with
no secret configured; internal endpoints with no key configured or the key in
the wrong place.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain.models import Customer
from backend.fake_telegram import FakeTelegram, create_app
from tests.api import RunningServer, serve, serve_app, settings_for
from tests.telegram_world import (
    CASHIER_TOKEN,
    CUSTOMER_TOKEN,
    SECRET,
    Telegram,
    telegram,
    telegram_world,
)

__all__ = ["telegram", "telegram_world"]

_telegram_ids = itertools.count(7_100_001)


def text_update(user_id: int, text: str) -> dict[str, object]:
    return {
        "update_id": user_id,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Икс"},
            "text": text,
        },
    }


@pytest.mark.parametrize("bot", ["customer", "cashier"])
async def test_near_miss_secrets_are_401_for_both_bots(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession], bot: str
) -> None:
    user_id = next(_telegram_ids)
    near_misses = ["", SECRET.upper(), SECRET + "x", "x" + SECRET, SECRET[:-1], SECRET * 2]
    async with httpx.AsyncClient(base_url=telegram.dvorik.url) as http:
        for secret in near_misses:
            response = await http.post(
                f"/telegram/{bot}",
                json=text_update(user_id, "/start"),
                headers={"X-Telegram-Bot-Api-Secret-Token": secret},
            )
            assert response.status_code == 401, repr(secret)
        right = await http.post(
            f"/telegram/{bot}",
            json=text_update(user_id, "/help"),
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
    assert right.status_code == 200
    assert len(telegram.fake.messages_to(user_id)) == 1  # the /help answer, nothing else
    async with sessions() as session:
        registered = select(func.count()).where(Customer.telegram_id == user_id)
        assert await session.scalar(registered) == 0


@dataclass
class Unconfigured:
    """A server with bot tokens but neither WEBHOOK_SECRET nor INTERNAL_API_KEY set."""

    url: str
    telegram: FakeTelegram


@pytest.fixture
async def unconfigured(engine: AsyncEngine) -> AsyncIterator[Unconfigured]:
    fake = FakeTelegram()
    async with serve_app(create_app(fake)) as fake_url:
        settings = settings_for(
            engine,
            internal_api_key=None,
            telegram_api_url=fake_url,
            telegram_bot_token=CUSTOMER_TOKEN,
            telegram_auth_bot_token=CASHIER_TOKEN,
            webhook_base_url="https://dvorik.example.ru",
        )
        async with serve(settings) as running:
            yield Unconfigured(running.url, fake)


async def test_without_configured_secrets_nobody_gets_in(unconfigured: Unconfigured) -> None:
    """Development leaves them unset: a random per-process value then, never "" or None."""
    async with httpx.AsyncClient(base_url=unconfigured.url) as http:
        for bot in ("customer", "cashier"):
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": ""}):
                response = await http.post(
                    f"/telegram/{bot}", json=text_update(1, "/start"), headers=headers
                )
                assert response.status_code == 401
        for headers in ({}, {"X-API-Key": ""}, {"X-API-Key": "None"}):
            assert (await http.post("/internal/set-webhooks", headers=headers)).status_code == 401
            assert (await http.get("/internal/webhook-info", headers=headers)).status_code == 401
    assert unconfigured.telegram.method_counts["setWebhook"] == 0
    assert unconfigured.telegram.messages_to(1) == []


async def test_the_internal_key_counts_only_in_its_header(server: RunningServer) -> None:
    key = server.runtime.settings.secret("internal_api_key")
    async with httpx.AsyncClient(base_url=server.url) as http:
        misplaced = [
            {"params": {"X-API-Key": key}},
            {"params": {"api_key": key}},
            {"headers": {"Authorization": f"Bearer {key}"}},
            {"headers": {"X-API-Key": key.upper()}},
            {"headers": {"Cookie": f"X-API-Key={key}"}},
        ]
        for where in misplaced:
            response = await http.get("/internal/webhook-info", **where)  # type: ignore[arg-type]
            assert response.status_code == 401, where
