"""What every customer handler relies on: each state has an exit, a press is told by its
key, and a handler that serves a customer is given one.

Commands and menu buttons carry the `leaves_state` flag: `leave_state` ends
whatever conversation state the chat is in before they run, so they do their
normal job from anywhere. A prompt that waits for input is left by «Отмена»
too (/cancel, the word typed, or the inline button: `cancel`, `cancel_pressed`).
`ButtonPressed` tells a menu press by the button's template key, whatever label
the customer's keyboard shows (`Texts.button_for`).

A handler flagged `known_customer` gets the sender as `customer`
(`require_known_customer`); someone who never pressed /start is told to, leaves
any state they were in, and the handler does not run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.dispatcher.flags import get_flag
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.bots.customer.keyboards import menu
from backend.bots.texts import reply
from backend.bots.transactions import reading
from backend.domain import customers
from backend.domain.models import Customer
from backend.telegram.texts import Texts

LEAVES_STATE = {"leaves_state": True}
KNOWN_CUSTOMER = {"known_customer": True}

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class ButtonPressed(Filter):
    """Matches a press of the button `key`: any label it ever had, or a spelling of it."""

    def __init__(self, key: str) -> None:
        self.key = key

    async def __call__(self, message: Message, texts: Texts) -> bool:
        return await texts.button_for(message.text) == self.key


async def leave_state(handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
    """Inner middleware: a handler flagged `leaves_state` first ends any conversation state.

    A chat in no state has nothing to end: this bot keeps no data outside a
    state, so the two Redis writes of `clear()` are skipped (issue 19: most
    updates, /start among them, come from chats in no state).
    """
    state = data.get("state")
    in_a_state = data.get("raw_state") is not None
    if get_flag(data, "leaves_state") and in_a_state and isinstance(state, FSMContext):
        await state.clear()
    return await handler(event, data)


async def require_known_customer(
    handler: Handler, event: TelegramObject, data: dict[str, Any]
) -> Any:
    """Inner middleware: a handler flagged `known_customer` gets the sender as `customer`;
    anyone else is told to press /start, leaves any state, and the handler does not run."""
    if not get_flag(data, "known_customer") or not isinstance(event, Message):
        return await handler(event, data)
    customer: Customer | None = None
    if event.from_user is not None:
        sessions: async_sessionmaker[AsyncSession] = data["sessions"]
        customer = await reading(sessions, customers.find_by_telegram_id, event.from_user.id)
        if customer is None:
            texts: Texts = data["texts"]
            await reply(event, await texts.get("not_registered"))
    if customer is None:
        state = data.get("state")
        if data.get("raw_state") is not None and isinstance(state, FSMContext):
            await state.clear()
        return None
    data["customer"] = customer
    return await handler(event, data)


async def cancel(message: Message, customer: Customer, state: FSMContext, texts: Texts) -> None:
    """/cancel or «Отмена» typed: leave the prompt, or say there was nothing to leave."""
    waiting = await state.get_state() is not None
    await state.clear()
    key = "input_cancelled" if waiting else "menu_hint"
    await reply(message, await texts.get(key), reply_markup=await menu(texts, customer))


async def cancel_pressed(
    query: CallbackQuery,
    state: FSMContext,
    sessions: async_sessionmaker[AsyncSession],
    texts: Texts,
) -> None:
    """The inline «Отмена» under a prompt; a press after the prompt ended only gets a toast."""
    if await state.get_state() is None or not isinstance(query.message, Message):
        await query.answer(await texts.plain("menu_hint"))
        return
    await state.clear()
    await query.answer()
    customer = await reading(sessions, customers.find_by_telegram_id, query.from_user.id)
    keyboard = await menu(texts, customer) if customer is not None else None
    await reply(query.message, await texts.get("input_cancelled"), reply_markup=keyboard)
