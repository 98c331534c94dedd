"""An update that met an outage goes back to Telegram, unless the bot already said something.

When the database or Redis is unreachable (`backend.outages`), a handler
cannot do its job, and an apology would lose the customer's action: Telegram
counts the update as delivered. So an outage is not answered in the chat:
`let_outages_through` hands it past the bots' error handlers to the webhook,
which gives the update's claim back and answers 503, and Telegram delivers
the update again until it is handled (`backend.bots.webhooks`).

Unless the bot already told someone something while handling the update (a
reply, a notice to the customer, a button's toast): that cannot be taken
back, and a redelivery would say it twice (and answer a button press
Telegram no longer accepts). Then the update counts as handled, as it did
before: a second answer is worse than a missing second half, the rule the
broadcasts follow too. `ReplyCount`, fed by a request middleware on both
bots' clients (`count_replies`), knows whether anything went out.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
from aiogram.methods import Response, TelegramMethod
from aiogram.types import ErrorEvent

from backend.outages import is_outage


@dataclass
class ReplyCount:
    """Bot API calls that changed something a person sees, made for the update being handled."""

    sent: int = 0


_counting: ContextVar[ReplyCount | None] = ContextVar("dvorik_update_replies", default=None)


@contextmanager
def counting_replies() -> Iterator[ReplyCount]:
    """Count what the bots say from here on, in this task and those it starts."""
    count = ReplyCount()
    token = _counting.set(count)
    try:
        yield count
    finally:
        _counting.reset(token)


async def count_replies(
    make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
) -> Response[Any]:
    """Request middleware: a call that succeeded and is no look-up (`get…`) counts as said."""
    response = await make_request(bot, method)
    count = _counting.get()
    if count is not None and not method.__api_method__.startswith("get"):
        count.sent += 1
    return response


def met_outage(event: ErrorEvent) -> bool:
    return is_outage(event.exception)


async def let_outages_through(event: ErrorEvent) -> None:
    """Raise the outage out of the dispatcher: no apology, the webhook decides."""
    raise event.exception


def install(dispatcher: Dispatcher, bot: Bot) -> None:
    """Outages skip the routers' error handlers; what `bot` says is counted (once per client)."""
    dispatcher.errors.register(let_outages_through, met_outage)
    if count_replies not in bot.session.middleware:
        bot.session.middleware(count_replies)
