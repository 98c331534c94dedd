"""Our two Telegram bots as aiogram objects, reaching the Bot API at TELEGRAM_API_URL."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.methods.base import Response
from aiogram.types import Message, User

from backend.domain.channels import ChannelInfo, ChannelLookupFailed, Membership
from backend.settings import Settings

# aiogram parses every answer as `Response[<type>]`. Pydantic keeps such
# parametrised models only while something references them, so between
# garbage collections each one was rebuilt (tens of ms each: a third of a
# broadcast worker's CPU). Holding the types our calls return keeps them built.
_ANSWER_MODELS = (Response[Message], Response[bool], Response[User])


def create_bot(token: str, api_url: str) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url))
    return Bot(token, session=session)


class TelegramChannels:
    """`ChannelLookup` over the Bot API, asked as `bot` (the customer bot, which checks).

    "chat not found" and refusals (the bot cannot see the chat) mean no channel;
    anything else (Telegram unreachable, slow, or refusing our token) is a
    failed lookup, never a verdict about the channel.
    """

    MEMBER_STATUSES = ("creator", "administrator", "member", "restricted")
    OUTSIDE_STATUSES = ("left", "kicked")

    def __init__(self, bot: Bot, *, timeout: float = 10.0) -> None:
        self.bot = bot
        self.timeout = timeout

    async def find_channel(self, channel: str) -> ChannelInfo | None:
        try:
            chat = await self.bot.get_chat(chat_id=channel, request_timeout=int(self.timeout))
        except (TelegramBadRequest, TelegramForbiddenError):
            return None
        except TelegramAPIError as error:
            raise ChannelLookupFailed(error.message) from None
        return ChannelInfo(id=chat.id, type=chat.type, title=chat.title)

    async def membership(self, channel: str, user_id: int) -> Membership:
        try:
            member = await self.bot.get_chat_member(
                chat_id=channel, user_id=user_id, request_timeout=int(self.timeout)
            )
        except TelegramAPIError:
            return Membership.UNKNOWN
        if member.status in self.MEMBER_STATUSES:
            return Membership.MEMBER
        if member.status in self.OUTSIDE_STATUSES:
            return Membership.NOT_MEMBER
        return Membership.UNKNOWN


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

    # Handlers take the Runtime's parts by name (the `runtime` key stays for the till's
    # notice to a customer, which needs the customer bot).
    shared = ("settings", "sessions", "read_sessions", "tasks", "rate_limiter", "pubsub")
    workflow = {**{key: getattr(workflow["runtime"], key) for key in shared}, **workflow}

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
