"""The customer bot's buttons: the menu under the input field and the inline buttons.

Labels are templates, so marketing can rename them; a press is told by the
button's key, not by today's label (`conversation.ButtonPressed`). The menu's
last button follows the customer: «stop» while subscribed, «resume» after.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from backend.domain.models import Customer, CustomerStatus
from backend.telegram.texts import Texts

MENU = ("button_my_discounts", "button_birthday", "button_profile", "button_help")


class CheckChannel(CallbackData, prefix="channel"):
    """«I have joined»: under the request to join the shop's channel first."""


class CancelInput(CallbackData, prefix="cancel"):
    """The «Отмена» button under a prompt that waits for input."""


async def menu(texts: Texts, customer: Customer) -> ReplyKeyboardMarkup:
    toggle = "button_stop" if customer.status is CustomerStatus.ACTIVE else "button_resume"
    labels = [await texts.plain(key) for key in (*MENU, toggle)]
    rows = [labels[0:2], labels[2:4], labels[4:5]]
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=label) for label in row] for row in rows],
        resize_keyboard=True,
    )


async def check_channel_button(texts: Texts) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(
        text=await texts.plain("button_check_channel"), callback_data=CheckChannel().pack()
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


async def cancel_button(texts: Texts) -> InlineKeyboardMarkup:
    """The «Отмена» button every prompt that waits for input carries."""
    button = InlineKeyboardButton(
        text=await texts.plain("button_cancel"), callback_data=CancelInput().pack()
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button]])
