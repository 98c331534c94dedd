"""The customer bot: subscribe, see discounts with QR codes, birthday, profile, stop/resume.

One module per journey (`subscription`, `cabinet`, `birthday`, `unsubscribe`,
`admin`), what they all rely on in `conversation` and `keyboards`, and what
no journey answers in `fallback`. Handlers are thin: they turn an update into
a domain call in one transaction (`backend.bots.transactions`) and a domain
answer into a template text; a domain error a journey expects is answered by
an error handler for its type.

The handlers are registered here, in one router, because their order is the
bot's grammar. Every conversation state has an exit: commands and menu
buttons come before the handlers that wait for input, and carry the
`leaves_state` flag, so from any state they clear it and do their normal job;
a prompt that waits for input offers an inline «Отмена» button (and /cancel,
or the word typed) that leaves too. Menu presses are told by the button's
template key, whatever label the customer's keyboard shows (`Texts.button_for`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import F, Router
from aiogram.filters import (
    IS_MEMBER,
    IS_NOT_MEMBER,
    ChatMemberUpdatedFilter,
    Command,
    CommandStart,
    ExceptionTypeFilter,
)

from backend.bots.customer.admin import admin_link
from backend.bots.customer.birthday import (
    BirthdayForm,
    ask_birthday,
    birthday_already_set,
    birthday_unreadable,
    save_birthday,
)
from backend.bots.customer.cabinet import show_discounts, show_profile
from backend.bots.customer.conversation import (
    KNOWN_CUSTOMER,
    LEAVES_STATE,
    ButtonPressed,
    cancel,
    cancel_pressed,
    leave_state,
    require_known_customer,
)
from backend.bots.customer.fallback import anything_else, on_error, show_help, stale_button
from backend.bots.customer.keyboards import CancelInput, CheckChannel
from backend.bots.customer.subscription import check_channel, resume, start
from backend.bots.customer.unsubscribe import blocked, stop, unblocked
from backend.domain.errors import BirthdayAlreadySet, InvalidBirthday

__all__ = ["BirthdayForm", "create_router"]

FOR_CUSTOMER = {**LEAVES_STATE, **KNOWN_CUSTOMER}


def create_router() -> Router:
    router = Router(name="customer")
    router.message.middleware(leave_state)
    router.message.middleware(require_known_customer)
    router.callback_query.middleware(leave_state)
    # Commands and menu buttons first, each leaving whatever state the chat is in.
    commands: list[tuple[Callable[..., Awaitable[None]], str | None, str | None, dict[str, Any]]]
    commands = [
        (show_discounts, "discounts", "button_my_discounts", FOR_CUSTOMER),
        (ask_birthday, "birthday", "button_birthday", FOR_CUSTOMER),
        (show_profile, "profile", "button_profile", FOR_CUSTOMER),
        (show_help, "help", "button_help", LEAVES_STATE),
        (stop, "stop", "button_stop", FOR_CUSTOMER),
        (resume, None, "button_resume", LEAVES_STATE),
        (admin_link, "admin", None, LEAVES_STATE),
    ]
    # /start records its update in its own write transaction (`claims_update`).
    router.message.register(start, CommandStart(), flags={**LEAVES_STATE, "claims_update": True})
    for handler, command, button, flags in commands:
        if command is not None:
            router.message.register(handler, Command(command), flags=flags)
        if button is not None:
            router.message.register(handler, ButtonPressed(button), flags=flags)
    # «Отмена» ends the state itself: its answer depends on whether there was one.
    router.message.register(cancel, Command("cancel"), flags=KNOWN_CUSTOMER)
    router.message.register(cancel, ButtonPressed("button_cancel"), flags=KNOWN_CUSTOMER)
    router.callback_query.register(check_channel, CheckChannel.filter(), flags=LEAVES_STATE)
    router.callback_query.register(cancel_pressed, CancelInput.filter())
    # A command the bot does not know leaves a state too, and says what to use instead.
    router.message.register(anything_else, F.text.startswith("/"), flags=LEAVES_STATE)
    # Then the states that wait for input; anything else in them is read as that input.
    router.message.register(save_birthday, BirthdayForm.waiting, F.text, flags=KNOWN_CUSTOMER)
    router.my_chat_member.register(blocked, ChatMemberUpdatedFilter(IS_MEMBER >> IS_NOT_MEMBER))
    router.my_chat_member.register(unblocked, ChatMemberUpdatedFilter(IS_NOT_MEMBER >> IS_MEMBER))
    router.message.register(anything_else)
    router.edited_message.register(anything_else)
    router.callback_query.register(stale_button)
    # Domain errors a journey expects are answered in its words; anything else is a bug.
    router.errors.register(birthday_unreadable, ExceptionTypeFilter(InvalidBirthday))
    router.errors.register(birthday_already_set, ExceptionTypeFilter(BirthdayAlreadySet))
    router.errors.register(on_error)
    return router
