"""Our two Telegram bots as aiogram objects, reaching the Bot API at TELEGRAM_API_URL."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage

from backend.settings import Settings
from backend.telegram.clients import create_bot


def create_storage(redis_url: str | None) -> BaseStorage:
    """Conversation state (e.g. "waiting for a birthday"): Redis if configured."""
    return RedisStorage.from_url(redis_url) if redis_url else MemoryStorage()


@dataclass
class BotApp:
    name: str
    bot: Bot
    dispatcher: Dispatcher


@dataclass
class Bots:
    customer: BotApp
    cashier: BotApp

    def by_name(self, name: str) -> BotApp | None:
        return {"customer": self.customer, "cashier": self.cashier}.get(name)

    async def close(self) -> None:
        for app in (self.customer, self.cashier):
            await app.bot.session.close()
            await app.dispatcher.storage.close()


def create_bots(settings: Settings, workflow: dict[str, object]) -> Bots | None:
    """Both bots with their dispatchers, or None when their tokens are not configured."""
    if settings.telegram_bot_token is None or settings.telegram_auth_bot_token is None:
        return None
    from backend.bots import cashier, customer
    from backend.bots.webhooks import claim_first

    def app(name: str, token: str, router_factory: object) -> BotApp:
        # The till bot keeps no conversation state, and aiogram reads the state
        # of every update: in memory that read is not a Redis round trip.
        redis_url = settings.redis_url if name == "customer" else None
        dispatcher = Dispatcher(storage=create_storage(redis_url))
        dispatcher.workflow_data.update(workflow)
        for event_name, observer in dispatcher.observers.items():
            if event_name not in ("update", "error"):
                observer.middleware(claim_first)  # each webhook update is handled once
        dispatcher.include_router(router_factory())  # type: ignore[operator]
        return BotApp(name, create_bot(token, settings.telegram_api_url), dispatcher)

    return Bots(
        customer=app(
            "customer", settings.telegram_bot_token.get_secret_value(), customer.create_router
        ),
        cashier=app(
            "cashier", settings.telegram_auth_bot_token.get_secret_value(), cashier.create_router
        ),
    )
