"""The birthday: asked once, told once, then the gift on the day.

/birthday (or its button) asks for the date and waits for it (`BirthdayForm`);
the date is stored with the gift it brings, and the answer says only what will
happen (`birthday_saved_reply`). A date that cannot be a birthday is answered
with why and the prompt stays; a birthday already on record cannot be changed
here. Both are domain errors, answered by the router's error handlers.
"""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import ErrorEvent, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.bots.customer.cabinet import send_discount_card
from backend.bots.customer.keyboards import cancel_button
from backend.bots.texts import reply
from backend.bots.transactions import in_transaction
from backend.domain import birthdays
from backend.domain.clock import business_date, utcnow
from backend.domain.errors import BirthdayAlreadySet, InvalidBirthday
from backend.domain.models import Customer
from backend.replies.customers import birthday_refusal, birthday_saved_reply
from backend.settings import Settings
from backend.telegram.texts import Texts


class BirthdayForm(StatesGroup):
    waiting = State()


async def ask_birthday(
    message: Message, customer: Customer, state: FSMContext, texts: Texts
) -> None:
    if customer.birthday is not None:
        await reply(
            message, await texts.get("birthday_already_set", birthday=texts.day(customer.birthday))
        )
        return
    await state.set_state(BirthdayForm.waiting)
    await reply(
        message, await texts.get("birthday_prompt"), reply_markup=await cancel_button(texts)
    )


async def save_birthday(
    message: Message,
    customer: Customer,
    state: FSMContext,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    texts: Texts,
) -> None:
    """The date typed at the prompt: stored with its gift, or refused (`InvalidBirthday`,
    `BirthdayAlreadySet`: see the error handlers below)."""
    now, zone = utcnow(), settings.zone
    born = birthdays.parse_birthday(message.text or "", today=business_date(now, zone))
    saved = await in_transaction(
        sessions, birthdays.save_birthday, customer.id, born, now=now, zone=zone
    )
    await state.clear()
    await reply(message, await birthday_saved_reply(texts, saved, born))
    if saved.gift is not None:
        await send_discount_card(message, saved.gift, texts)


async def birthday_unreadable(event: ErrorEvent, texts: Texts) -> None:
    """`InvalidBirthday`: say what is wrong with the date, and keep waiting for one."""
    error, message = event.exception, event.update.message
    if not isinstance(error, InvalidBirthday) or message is None:
        return
    await reply(
        message, await birthday_refusal(texts, error), reply_markup=await cancel_button(texts)
    )


async def birthday_already_set(event: ErrorEvent, state: FSMContext, texts: Texts) -> None:
    """`BirthdayAlreadySet`: the prompt ends, and the customer reads the date on record."""
    error, message = event.exception, event.update.message
    if not isinstance(error, BirthdayAlreadySet) or message is None:
        return
    await state.clear()
    await reply(message, await birthday_refusal(texts, error))
