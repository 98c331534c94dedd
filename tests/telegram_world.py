"""Harness for end-to-end bot tests: the fake Bot API and Dvorik, both on real HTTP.

An update travels as in production: the fake Telegram posts it to our
webhook with the secret header, aiogram handles it, our replies go back over
HTTP to the fake, which records what each chat received.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain import cashiers
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.fake_telegram import FakeTelegram, FakeUser, create_app
from backend.rate_limits import InMemoryRateLimiter, RateLimiter
from tests.api import RunningServer, serve, serve_app, settings_for

CUSTOMER_TOKEN = "700000001:" + "c" * 35
CASHIER_TOKEN = "700000002:" + "k" * 35
SECRET = "webhook-secret-" + "w" * 30


@dataclass
class Telegram:
    fake: FakeTelegram
    url: str
    dvorik: RunningServer

    async def connect_webhooks(self) -> None:
        await connect_webhooks(self.fake, self.dvorik.url)

    def texts_to(self, user: FakeUser, token: str) -> list[str]:
        """What the user sees in the chat (toasts from answerCallbackQuery are not messages)."""
        return [
            sent.text or sent.caption or ""
            for sent in self.fake.messages_to(user.id, token=token)
            if sent.method in ("sendMessage", "sendPhoto", "editMessageText")
        ]


@asynccontextmanager
async def served_with_bots(engine: AsyncEngine, **settings: Any) -> AsyncIterator[Telegram]:
    """The fake Bot API and Dvorik with both bots on it (more `settings` as for `settings_for`)."""
    fake = FakeTelegram()
    async with serve_app(create_app(fake)) as fake_url:
        bots = settings_for(
            engine,
            telegram_api_url=fake_url,
            telegram_bot_token=CUSTOMER_TOKEN,
            telegram_auth_bot_token=CASHIER_TOKEN,
            webhook_secret=SECRET,
            **settings,
        )
        async with serve(bots) as dvorik:
            yield Telegram(fake, fake_url, dvorik)


async def connect_webhooks(fake: FakeTelegram, dvorik_url: str) -> None:
    """Both bots' webhooks at the fake point at the Dvorik served at `dvorik_url`."""
    for name, token in (("customer", CUSTOMER_TOKEN), ("cashier", CASHIER_TOKEN)):
        await fake.call(
            token, "setWebhook", {"url": f"{dvorik_url}/telegram/{name}", "secret_token": SECRET}
        )


def bots_environment(fake_url: str) -> dict[str, str]:
    """Both bots on the fake Bot API at `fake_url`, as a `dvorik` process's settings."""
    return {
        "TELEGRAM_BOT_TOKEN": CUSTOMER_TOKEN,
        "TELEGRAM_AUTH_BOT_TOKEN": CASHIER_TOKEN,
        "TELEGRAM_API_URL": fake_url,
        "WEBHOOK_SECRET": SECRET,
    }


async def join_as_cashier(
    world: Telegram, sessions: async_sessionmaker[AsyncSession], person: FakeUser, name: str
) -> None:
    """The shop invites `name` to «Светланская, 33»; `person` joins the cashier bot with it."""
    async with sessions() as session, session.begin():
        _, invite = await cashiers.invite(
            session, name, "Светланская, 33", actor=Actor.system(), now=utcnow()
        )
    await world.fake.send_text(CASHIER_TOKEN, person, f"/start {invite.lower()}")
    assert "Добро пожаловать" in world.texts_to(person, CASHIER_TOKEN)[-1]


@pytest.fixture(scope="session")
async def telegram_world(engine: AsyncEngine) -> AsyncIterator[Telegram]:
    async with served_with_bots(engine, superadmin_telegram_id=424242) as world:
        yield world


async def fresh(world: Telegram) -> Telegram:
    """The shared bot world without chats, faults, cached texts or rate-limit history.

    Telegram ids repeat across tests, so an old limiter would count earlier tests' tries.
    """
    world.fake.reset()
    await world.connect_webhooks()
    world.dvorik.runtime.texts.invalidate()
    use_rate_limiter(world, InMemoryRateLimiter())
    return world


def use_rate_limiter(world: Telegram, limiter: RateLimiter) -> None:
    """Count with `limiter` from now on: in the runtime and in what the bots' handlers get."""
    world.dvorik.runtime.rate_limiter = limiter
    for app in world.dvorik.bot_apps.all():
        app.dispatcher.workflow_data["rate_limiter"] = limiter


@pytest.fixture
async def telegram(telegram_world: Telegram) -> Telegram:
    """The shared bot world, fresh for this test (import both fixtures to use it)."""
    return await fresh(telegram_world)
