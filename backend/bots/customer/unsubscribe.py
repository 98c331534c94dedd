"""Leaving: /stop ends the mailings, and blocking the bot is noted (unblocking too).

A customer who stops keeps their account and discounts, and the menu offers
«resume» instead of «stop». Telegram tells the bot when it is blocked or
unblocked (`my_chat_member`): a blocked customer is not sent mailings.
"""

from __future__ import annotations

from datetime import datetime

from aiogram.types import ChatMemberUpdated, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.bots.customer.keyboards import menu
from backend.bots.texts import reply
from backend.bots.transactions import in_transaction
from backend.domain import customers
from backend.domain.clock import utcnow
from backend.domain.models import Customer
from backend.telegram.texts import Texts


async def stop(
    message: Message,
    customer: Customer,
    sessions: async_sessionmaker[AsyncSession],
    texts: Texts,
) -> None:
    customer = await in_transaction(sessions, customers.unsubscribe, customer.id, now=utcnow())
    await reply(
        message,
        await texts.get("unsubscribed", first_name=customer.first_name),
        reply_markup=await menu(texts, customer),
    )


async def blocked(event: ChatMemberUpdated, sessions: async_sessionmaker[AsyncSession]) -> None:
    await in_transaction(sessions, mark_blocked, event.from_user.id, blocked=True, now=utcnow())


async def unblocked(event: ChatMemberUpdated, sessions: async_sessionmaker[AsyncSession]) -> None:
    await in_transaction(sessions, mark_blocked, event.from_user.id, blocked=False, now=utcnow())


async def mark_blocked(
    session: AsyncSession, telegram_id: int, *, blocked: bool, now: datetime
) -> None:
    """The customer blocked (or unblocked) the bot; someone unknown to us is no one's concern."""
    customer = await customers.find_by_telegram_id(session, telegram_id)
    if customer is None:
        return
    if blocked:
        await customers.mark_blocked(session, customer.id, now=now)
    else:
        await customers.mark_unblocked(session, customer.id, now=now)
