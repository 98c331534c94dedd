"""Our two bots' Bot API clients, reaching the Bot API at TELEGRAM_API_URL.

The runtime holds them (`Runtime.bots`): the bots answer updates through
them, the workers send notifications and broadcasts, the admin API looks
channels up. Which updates a bot handles, and how, is the bots' business
(`backend.bots.dispatchers`).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods.base import Response
from aiogram.types import Message, User

from backend.settings import Settings

# aiogram parses every answer as `Response[<type>]`. Pydantic keeps such
# parametrised models only while something references them, so between
# garbage collections each one was rebuilt (tens of ms each: a third of a
# broadcast worker's CPU). Holding the types our calls return keeps them built.
_ANSWER_MODELS = (Response[Message], Response[bool], Response[User])


def create_bot(token: str, api_url: str) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url))
    return Bot(token, session=session)


@dataclass(frozen=True)
class BotClient:
    """One of our bots: the name it goes by in our URLs (`/telegram/<name>`) and its client."""

    name: str
    bot: Bot


@dataclass(frozen=True)
class BotClients:
    """The customer bot (customers' chats, channel checks) and the cashier bot (the tills)."""

    customer: BotClient
    cashier: BotClient

    def all(self) -> tuple[BotClient, BotClient]:
        return (self.customer, self.cashier)

    async def close(self) -> None:
        for client in self.all():
            await client.bot.session.close()


def create_bot_clients(settings: Settings) -> BotClients | None:
    """Both bots' clients, or None when their tokens are not configured."""
    if settings.telegram_bot_token is None or settings.telegram_auth_bot_token is None:
        return None
    customer = settings.telegram_bot_token.get_secret_value()
    cashier = settings.telegram_auth_bot_token.get_secret_value()
    return BotClients(
        customer=BotClient("customer", create_bot(customer, settings.telegram_api_url)),
        cashier=BotClient("cashier", create_bot(cashier, settings.telegram_api_url)),
    )
