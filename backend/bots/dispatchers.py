"""Our two bots' dispatchers: their routers, their conversation state, what handlers get.

The runtime holds the Bot API clients (`backend.telegram.clients`); a
dispatcher decides what a bot does with an update. The entry points build
them here and feed them updates: `backend.app` from the webhooks,
`dvorik bots --polling` and `dvorik try-chat` by long polling.

Handlers ask for what they use by name (aiogram passes `workflow_data` as
keyword arguments): the runtime's parts, and `texts`, what the bots say.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage

from backend.bots import cashier, customer, redelivery
from backend.bots.update_claims import AbandonedClaims, claim_first
from backend.redis_clients import client
from backend.redis_roles import RedisRole, role_url
from backend.runtime import Runtime
from backend.telegram.clients import BotClient


@dataclass
class BotApp:
    """One bot: its name, its Bot API client and the dispatcher that handles its updates."""

    name: str
    bot: Bot
    dispatcher: Dispatcher


@dataclass
class BotApps:
    customer: BotApp
    cashier: BotApp
    # Updates whose claim an outage kept us from giving back (`backend.bots.update_claims`).
    abandoned: AbandonedClaims = field(default_factory=AbandonedClaims)

    def by_name(self, name: str) -> BotApp | None:
        return {"customer": self.customer, "cashier": self.cashier}.get(name)

    def all(self) -> tuple[BotApp, BotApp]:
        return (self.customer, self.cashier)

    async def close(self) -> None:
        """Close the conversation storages (the clients are the runtime's to close)."""
        for app in self.all():
            await app.dispatcher.storage.close()


CONVERSATION_KEEP = timedelta(hours=168)  # BOT_CONVERSATION_KEEP_HOURS' default


def create_storage(redis_url: str | None, keep: timedelta = CONVERSATION_KEEP) -> BaseStorage:
    """Conversation state (e.g. "waiting for a birthday"): Redis if configured.

    In Redis each state expires `keep` after it was last set: a customer who
    leaves a prompt unanswered would otherwise keep a key for ever (finishing
    or cancelling it deletes the key).
    """
    if not redis_url:
        return MemoryStorage()
    return RedisStorage(client(redis_url), state_ttl=keep, data_ttl=keep)


def workflow_data(runtime: Runtime) -> dict[str, Any]:
    """What every handler may ask for by name."""
    return {
        "bot_clients": runtime.bots,
        "texts": runtime.texts,
        "settings": runtime.settings,
        "sessions": runtime.sessions,
        "read_sessions": runtime.read_sessions,
        "tasks": runtime.tasks,
        "rate_limiter": runtime.rate_limiter,
        "pubsub": runtime.pubsub,
    }


def create_bot_apps(runtime: Runtime) -> BotApps | None:
    """Both bots with their dispatchers, or None when the runtime has no bots."""
    if runtime.bots is None:
        return None
    workflow = workflow_data(runtime)
    keep = timedelta(hours=runtime.settings.bot_conversation_keep_hours)
    # The till bot keeps no conversation state, and aiogram reads the state
    # of every update: in memory that read is not a Redis round trip.
    return BotApps(
        customer=_bot_app(
            runtime.bots.customer,
            customer.create_router,
            create_storage(role_url(runtime.settings, RedisRole.STATE), keep),
            workflow,
        ),
        cashier=_bot_app(runtime.bots.cashier, cashier.create_router, MemoryStorage(), workflow),
    )


def _bot_app(
    client: BotClient,
    create_router: Callable[[], Router],
    storage: BaseStorage,
    workflow: dict[str, Any],
) -> BotApp:
    dispatcher = Dispatcher(storage=storage)
    dispatcher.workflow_data.update(workflow)
    for event_name, observer in dispatcher.observers.items():
        if event_name not in ("update", "error"):
            observer.middleware(claim_first)  # each webhook update is handled once
    redelivery.install(dispatcher, client.bot)  # an outage goes back to Telegram, unapologised
    dispatcher.include_router(create_router())
    return BotApp(client.name, client.bot, dispatcher)
