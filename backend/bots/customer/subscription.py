"""Subscribing: /start (with its deep-link source), the channel check, and coming back.

A shop may ask customers to join its channel first: then /start registers the
customer unsubscribed and asks them to join, and «I have joined» checks and
subscribes. The welcome depends on who they were: new (with the welcome
discount, if the shop gives one), already with us, or back after /stop or a
block, when a birthday gift that came due while away is handed over.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from aiogram import Bot
from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, Message, User
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.bots.customer.cabinet import send_discount_card
from backend.bots.customer.keyboards import check_channel_button, menu
from backend.bots.texts import reply
from backend.bots.transactions import claimed_transaction, in_transaction, reading
from backend.bots.update_claims import UpdateClaim
from backend.domain import customers, shop_settings
from backend.domain.channels import must_join
from backend.domain.clock import utcnow
from backend.replies.customers import Subscribed, greetings, subscribe
from backend.settings import Settings
from backend.telegram.channels import TelegramChannels
from backend.telegram.texts import Texts

MAX_SOURCE = 64


def profile_of(user: User) -> customers.TelegramProfile:
    return customers.TelegramProfile(
        telegram_id=user.id,
        first_name=user.first_name or "",
        last_name=user.last_name,
        username=user.username,
        language=user.language_code,
    )


def clean_source(args: str | None) -> str | None:
    """The /start deep-link parameter, as Telegram allows it ([A-Za-z0-9_-], 64 chars)."""
    if not args:
        return None
    kept = "".join(ch for ch in args if ch.isascii() and (ch.isalnum() or ch in "_-"))
    return kept[:MAX_SOURCE] or None


async def start(
    message: Message,
    command: CommandObject,
    bot: Bot,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    texts: Texts,
    update_claim: UpdateClaim | None = None,
) -> None:
    """/start: one transaction takes the update's record (`claims_update`), reads whether
    the shop asks customers to join its channel first and, if it does not, subscribes;
    a repeated delivery says nothing.

    A shop with a channel makes /start ask Telegram about the membership: that
    first transaction then commits the record alone, and the customer is
    registered or subscribed after the answer, as before.
    """
    if message.from_user is None:
        return
    who, now, source = profile_of(message.from_user), utcnow(), clean_source(command.args)
    outcome = await claimed_transaction(
        sessions, update_claim, subscribe_unless_asked_to_join, who, source, now, settings.zone
    )
    if outcome is None:  # delivered twice: the first delivery answered
        return
    if isinstance(outcome, Subscribed):
        await greet(message, outcome, texts)
        return
    channel = outcome
    if await must_join(TelegramChannels(bot), channel, who.telegram_id):
        await in_transaction(sessions, customers.register, who, now=now, source=source)
        await reply(
            message,
            await texts.get("channel_required", channel=channel),
            reply_markup=await check_channel_button(texts),
        )
        return
    await subscribe_and_greet(message, who, source, sessions, settings, texts)


async def subscribe_unless_asked_to_join(
    session: AsyncSession,
    who: customers.TelegramProfile,
    source: str | None,
    now: datetime,
    zone: tzinfo,
) -> Subscribed | str:
    """The subscription, or the channel the shop asks to join first (nothing done then)."""
    channel = str(await shop_settings.get(session, "subscription_channel"))
    if channel:
        return channel
    return await subscribe(session, who, source=source, now=now, zone=zone)


async def check_channel(
    query: CallbackQuery,
    bot: Bot,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    texts: Texts,
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        channel = str(await reading(sessions, shop_settings.get, "subscription_channel"))
        if await must_join(TelegramChannels(bot), channel, query.from_user.id):
            await reply(query.message, await texts.get("channel_required", channel=channel))
            return
        who = profile_of(query.from_user)
        await subscribe_and_greet(query.message, who, None, sessions, settings, texts)


async def resume(
    message: Message,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    texts: Texts,
) -> None:
    if message.from_user is None:
        return
    who = profile_of(message.from_user)
    await subscribe_and_greet(message, who, None, sessions, settings, texts)


async def subscribe_and_greet(
    message: Message,
    who: customers.TelegramProfile,
    source: str | None,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    texts: Texts,
) -> None:
    done = await in_transaction(
        sessions, subscribe, who, source=source, now=utcnow(), zone=settings.zone
    )
    await greet(message, done, texts)


async def greet(message: Message, done: Subscribed, texts: Texts) -> None:
    """The welcome for who they were, the menu, and any gift they came back to."""
    said = await greetings(texts, done)
    await reply(message, said[0], reply_markup=await menu(texts, done.result.customer))
    for text in said[1:]:
        await reply(message, text)
    if done.result.discount is None and done.gift_back is not None:
        await send_discount_card(message, done.gift_back, texts)
