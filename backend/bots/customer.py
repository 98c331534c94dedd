"""The customer bot: subscribe, see discounts with QR codes, birthday, profile, stop/resume.

Handlers are thin: they turn an update into a domain call in one transaction
and a domain answer (or typed error) into a template text. Anything the bot
does not understand gets a polite hint, never an error.

Every conversation state has an exit: commands and menu buttons are
registered before the handlers that wait for input, and carry the
`leaves_state` flag, so from any state they clear it and do their normal job;
a prompt that waits for input offers an inline «Отмена» button (and /cancel,
or the word typed) that leaves too. Menu presses are told by the button's
template key, whatever label the customer's keyboard shows (`Texts.button_for`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from aiogram import Bot, F, Router
from aiogram.dispatcher.flags import get_flag
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import (
    IS_MEMBER,
    IS_NOT_MEMBER,
    ChatMemberUpdatedFilter,
    Command,
    CommandObject,
    CommandStart,
    Filter,
)
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    ChatMemberUpdated,
    ErrorEvent,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    TelegramObject,
    User,
)

from backend.bots.texts import Texts, reply
from backend.domain import admins, birthdays, customers, discounts, shop_settings
from backend.domain.channels import must_join
from backend.domain.clock import business_date, utcnow
from backend.domain.errors import BirthdayAlreadySet, InvalidBirthday
from backend.domain.models import Admin, Customer, CustomerStatus, Discount
from backend.domain.templates import Rendered
from backend.runtime import Runtime
from backend.telegram.channels import TelegramChannels
from backend.telegram.qr_codes import qr_png

log = logging.getLogger("dvorik.bots.customer")
MENU = ("button_my_discounts", "button_birthday", "button_profile", "button_help")
MAX_SOURCE = 64


class BirthdayForm(StatesGroup):
    waiting = State()


class CheckChannel(CallbackData, prefix="channel"):
    pass


class CancelInput(CallbackData, prefix="cancel"):
    """The «Отмена» button under a prompt that waits for input."""


LEAVES_STATE = {"leaves_state": True}


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


async def menu(texts: Texts, customer: Customer) -> ReplyKeyboardMarkup:
    toggle = "button_stop" if customer.status is CustomerStatus.ACTIVE else "button_resume"
    labels = [await texts.plain(key) for key in (*MENU, toggle)]
    rows = [labels[0:2], labels[2:4], labels[4:5]]
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=label) for label in row] for row in rows],
        resize_keyboard=True,
    )


class ButtonPressed(Filter):
    """Matches a press of the button `key`: any label it ever had, or a spelling of it."""

    def __init__(self, key: str) -> None:
        self.key = key

    async def __call__(self, message: Message, texts: Texts) -> bool:
        return await texts.button_for(message.text) == self.key


async def leave_state(
    handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
    event: TelegramObject,
    data: dict[str, Any],
) -> Any:
    """Inner middleware: a handler flagged `leaves_state` first ends any conversation state."""
    state = data.get("state")
    if get_flag(data, "leaves_state") and isinstance(state, FSMContext):
        await state.clear()
    return await handler(event, data)


def create_router() -> Router:
    router = Router(name="customer")
    router.message.middleware(leave_state)
    router.callback_query.middleware(leave_state)
    # Commands and menu buttons first, each leaving whatever state the chat is in.
    commands: list[tuple[Callable[..., Awaitable[None]], str | None, str | None]] = [
        (show_discounts, "discounts", "button_my_discounts"),
        (ask_birthday, "birthday", "button_birthday"),
        (show_profile, "profile", "button_profile"),
        (show_help, "help", "button_help"),
        (stop, "stop", "button_stop"),
        (resume, None, "button_resume"),
        (admin_link, "admin", None),
    ]
    router.message.register(start, CommandStart(), flags=LEAVES_STATE)
    for handler, command, button in commands:
        if command is not None:
            router.message.register(handler, Command(command), flags=LEAVES_STATE)
        if button is not None:
            router.message.register(handler, ButtonPressed(button), flags=LEAVES_STATE)
    # «Отмена» ends the state itself: its answer depends on whether there was one.
    router.message.register(cancel, Command("cancel"))
    router.message.register(cancel, ButtonPressed("button_cancel"))
    router.callback_query.register(check_channel, CheckChannel.filter(), flags=LEAVES_STATE)
    router.callback_query.register(cancel_pressed, CancelInput.filter())
    # A command the bot does not know leaves a state too, and says what to use instead.
    router.message.register(anything_else, F.text.startswith("/"), flags=LEAVES_STATE)
    # Then the states that wait for input; anything else in them is read as that input.
    router.message.register(save_birthday, BirthdayForm.waiting, F.text)
    router.my_chat_member.register(blocked, ChatMemberUpdatedFilter(IS_MEMBER >> IS_NOT_MEMBER))
    router.my_chat_member.register(unblocked, ChatMemberUpdatedFilter(IS_NOT_MEMBER >> IS_MEMBER))
    router.message.register(anything_else)
    router.edited_message.register(anything_else)
    router.callback_query.register(stale_button)
    router.errors.register(on_error)
    return router


async def start(
    message: Message, command: CommandObject, bot: Bot, runtime: Runtime, texts: Texts
) -> None:
    if message.from_user is None:
        return
    who, now = profile_of(message.from_user), utcnow()
    async with runtime.sessions() as session, session.begin():
        channel = str(await shop_settings.get(session, "subscription_channel"))
    if await must_join(TelegramChannels(bot), channel, who.telegram_id):
        async with runtime.sessions() as session, session.begin():
            await customers.register(session, who, now=now, source=clean_source(command.args))
        button = InlineKeyboardButton(
            text=await texts.plain("button_check_channel"), callback_data=CheckChannel().pack()
        )
        await reply(
            message,
            await texts.get("channel_required", channel=channel),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]),
        )
        return
    await subscribe_and_greet(message, who, clean_source(command.args), runtime, texts)


async def subscribe_and_greet(
    message: Message,
    who: customers.TelegramProfile,
    source: str | None,
    runtime: Runtime,
    texts: Texts,
) -> None:
    now = utcnow()
    async with runtime.sessions() as session, session.begin():
        before = await customers.find_by_telegram_id(session, who.telegram_id)
        was_active = before is not None and before.status is CustomerStatus.ACTIVE
        # Registered while asked to join the channel is not subscribed yet: still new.
        was_new = before is None or before.subscribed_at is None
        result = await customers.subscribe(session, who, now=now, source=source)
        birthday = result.customer.birthday
        back = None
        if not was_new and not was_active and birthday is not None:
            # Told while away that /start brings the birthday gifts back: keep it.
            back = await birthdays.gift_if_due(
                session, result.customer, birthday, now=now, zone=runtime.settings.zone
            )
    keyboard = await menu(texts, result.customer)
    name = result.customer.first_name
    if result.discount is not None:
        greeting = await texts.get("welcome", first_name=name)
        await reply(message, greeting, reply_markup=keyboard)
        await reply(
            message,
            await texts.get(
                "welcome_discount",
                first_name=name,
                percent=result.discount.percent,
                code=result.discount.code,
                expires_on=texts.last_day(result.discount.expires_at),
            ),
        )
        return
    key = "welcome" if was_new else "already_subscribed" if was_active else "welcome_back"
    await reply(message, await texts.get(key, first_name=name), reply_markup=keyboard)
    if back is not None and back.gift is not None:
        gift = back.gift
        await reply(
            message,
            await texts.get(
                "birthday_discount",
                first_name=name,
                percent=gift.percent,
                code=gift.code,
                expires_on=texts.last_day(gift.expires_at),
            ),
        )
        await send_discount_card(message, gift, texts)


async def check_channel(query: CallbackQuery, bot: Bot, runtime: Runtime, texts: Texts) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        async with runtime.sessions() as session:
            channel = str(await shop_settings.get(session, "subscription_channel"))
        if await must_join(TelegramChannels(bot), channel, query.from_user.id):
            await reply(query.message, await texts.get("channel_required", channel=channel))
            return
        await subscribe_and_greet(query.message, profile_of(query.from_user), None, runtime, texts)


async def known_customer(message: Message, runtime: Runtime, texts: Texts) -> Customer | None:
    """The sender as a customer, or None after telling them to press /start."""
    if message.from_user is None:
        return None
    async with runtime.sessions() as session:
        customer = await customers.find_by_telegram_id(session, message.from_user.id)
    if customer is None:
        await reply(message, await texts.get("not_registered"))
    return customer


async def show_discounts(message: Message, runtime: Runtime, texts: Texts) -> None:
    customer = await known_customer(message, runtime, texts)
    if customer is None:
        return
    async with runtime.sessions() as session:
        usable = await discounts.active_for_customer(session, customer.id, now=utcnow())
    if not usable:
        await reply(message, await texts.get("cabinet_empty", first_name=customer.first_name))
        return
    await reply(
        message, await texts.get("cabinet", first_name=customer.first_name, count=len(usable))
    )
    for discount in usable:
        await send_discount_card(message, discount, texts)


async def send_discount_card(message: Message, discount: Discount, texts: Texts) -> None:
    """A code's QR with what it is for and its last day: what the till scans."""
    caption = await texts.get(
        "discount_line",
        code=discount.code,
        percent=discount.percent,
        kind=(await texts.kind(discount.kind)).plain,
        expires_on=texts.last_day(discount.expires_at),
    )
    await message.answer_photo(
        BufferedInputFile(qr_png(discount.code), filename=f"{discount.code}.png"),
        caption=caption.text,
        parse_mode=caption.telegram_parse_mode,
    )


async def ask_birthday(message: Message, state: FSMContext, runtime: Runtime, texts: Texts) -> None:
    customer = await known_customer(message, runtime, texts)
    if customer is None:
        return
    if customer.birthday is not None:
        await reply(
            message, await texts.get("birthday_already_set", birthday=texts.day(customer.birthday))
        )
        return
    await state.set_state(BirthdayForm.waiting)
    await reply(
        message, await texts.get("birthday_prompt"), reply_markup=await cancel_button(texts)
    )


async def cancel_button(texts: Texts) -> InlineKeyboardMarkup:
    """The «Отмена» button every prompt that waits for input carries."""
    button = InlineKeyboardButton(
        text=await texts.plain("button_cancel"), callback_data=CancelInput().pack()
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


async def save_birthday(
    message: Message, state: FSMContext, runtime: Runtime, texts: Texts
) -> None:
    customer = await known_customer(message, runtime, texts)
    if customer is None:
        await state.clear()
        return
    now = utcnow()
    try:
        born = birthdays.parse_birthday(
            message.text or "", today=business_date(now, runtime.settings.zone)
        )
        async with runtime.sessions() as session, session.begin():
            saved = await birthdays.save_birthday(
                session, customer.id, born, now=now, zone=runtime.settings.zone
            )
    except InvalidBirthday as error:
        await reply(
            message,
            await texts.get(f"birthday_{error.details['reason']}"),
            reply_markup=await cancel_button(texts),
        )
        return
    except BirthdayAlreadySet as error:
        await state.clear()
        when = texts.day(error.details["birthday"])
        await reply(message, await texts.get("birthday_already_set", birthday=when))
        return
    await state.clear()
    await reply(message, await birthday_saved_reply(texts, saved, born))
    if saved.gift is not None:
        await send_discount_card(message, saved.gift, texts)


async def birthday_saved_reply(
    texts: Texts, saved: birthdays.BirthdaySaved, born: date
) -> Rendered:
    """What the customer reads once their birthday is stored: only what will happen.

    One template per outcome (`birthday_saved_<outcome>`): the gift issued at
    once, the morning it will come, already given, or no promise to a customer
    who is unsubscribed or while the shop gives no birthday gifts.
    """
    values: dict[str, object] = {"birthday": texts.day(born)}
    if saved.gift is not None:
        values.update(
            percent=saved.gift.percent,
            code=saved.gift.code,
            expires_on=texts.last_day(saved.gift.expires_at),
        )
    if saved.will_get_gift_on is not None:
        values["gift_on"] = texts.day(saved.will_get_gift_on)
    return await texts.get(f"birthday_saved_{saved.outcome.value}", **values)


async def cancel(message: Message, state: FSMContext, runtime: Runtime, texts: Texts) -> None:
    """/cancel or «Отмена» typed: leave the prompt, or say there was nothing to leave."""
    waiting = await state.get_state() is not None
    await state.clear()
    customer = await known_customer(message, runtime, texts)
    if customer is None:
        return
    key = "input_cancelled" if waiting else "menu_hint"
    await reply(message, await texts.get(key), reply_markup=await menu(texts, customer))


async def cancel_pressed(
    query: CallbackQuery, state: FSMContext, runtime: Runtime, texts: Texts
) -> None:
    """The inline «Отмена» under a prompt; a press after the prompt ended only gets a toast."""
    if await state.get_state() is None or not isinstance(query.message, Message):
        await query.answer(await texts.plain("menu_hint"))
        return
    await state.clear()
    await query.answer()
    async with runtime.sessions() as session:
        customer = await customers.find_by_telegram_id(session, query.from_user.id)
    keyboard = await menu(texts, customer) if customer is not None else None
    await reply(query.message, await texts.get("input_cancelled"), reply_markup=keyboard)


async def show_profile(message: Message, runtime: Runtime, texts: Texts) -> None:
    customer = await known_customer(message, runtime, texts)
    if customer is None:
        return
    subscribed = customer.status is CustomerStatus.ACTIVE
    await reply(
        message,
        await texts.get(
            "profile",
            first_name=customer.first_name,
            birthday=texts.day(customer.birthday)
            if customer.birthday
            else await texts.get("profile_no_birthday"),
            status=await texts.get("status_subscribed" if subscribed else "status_unsubscribed"),
            since=texts.day(customer.created_at),
        ),
        reply_markup=await menu(texts, customer),
    )


async def show_help(message: Message, texts: Texts) -> None:
    await reply(message, await texts.get("help"))


async def stop(message: Message, runtime: Runtime, texts: Texts) -> None:
    customer = await known_customer(message, runtime, texts)
    if customer is None:
        return
    async with runtime.sessions() as session, session.begin():
        customer = await customers.unsubscribe(session, customer.id, now=utcnow())
    await reply(
        message,
        await texts.get("unsubscribed", first_name=customer.first_name),
        reply_markup=await menu(texts, customer),
    )


async def resume(message: Message, runtime: Runtime, texts: Texts) -> None:
    if message.from_user is None:
        return
    await subscribe_and_greet(message, profile_of(message.from_user), None, runtime, texts)


async def admin_link(message: Message, runtime: Runtime, texts: Texts) -> None:
    """A one-time SPA login link for admins; everyone else gets the ordinary help."""
    if message.from_user is None:
        return
    async with runtime.sessions() as session, session.begin():
        admin = await admin_for(session, message.from_user.id, runtime)
        token = await admins.issue_login_token(session, admin.id, now=utcnow()) if admin else None
    if token is None:
        await reply(message, await texts.get("help"))
        return
    link = f"{runtime.settings.admin_spa_url}/login?token={token}"
    minutes = int(admins.LOGIN_TOKEN_TTL.total_seconds() // 60)
    await reply(message, await texts.get("admin_login_link", link=link, minutes=minutes))


async def admin_for(session: Any, telegram_id: int, runtime: Runtime) -> Admin | None:
    """The sender's active admin row; the SUPERADMIN_TELEGRAM_ID person gets one made."""
    admin: Admin | None
    if telegram_id == runtime.settings.superadmin_telegram_id:
        admin = await admins.superadmin_owner(session, telegram_id)
    else:
        admin = await admins.find_by_telegram_id(session, telegram_id)
    return admin if admin is not None and admin.is_active else None


async def blocked(event: ChatMemberUpdated, runtime: Runtime) -> None:
    async with runtime.sessions() as session, session.begin():
        customer = await customers.find_by_telegram_id(session, event.from_user.id)
        if customer is not None:
            await customers.mark_blocked(session, customer.id, now=utcnow())


async def unblocked(event: ChatMemberUpdated, runtime: Runtime) -> None:
    async with runtime.sessions() as session, session.begin():
        customer = await customers.find_by_telegram_id(session, event.from_user.id)
        if customer is not None:
            await customers.mark_unblocked(session, customer.id, now=utcnow())


async def anything_else(message: Message, texts: Texts) -> None:
    await reply(message, await texts.get("unknown_input"))


async def stale_button(query: CallbackQuery, texts: Texts) -> None:
    await query.answer(await texts.plain("unknown_input"), show_alert=False)


async def on_error(event: ErrorEvent, texts: Texts) -> bool:
    """A bug must not become silence: log it and apologise in the customer's chat."""
    log.exception(
        "customer bot failed on update %s", event.update.update_id, exc_info=event.exception
    )
    message = event.update.message or event.update.edited_message
    if message is not None:
        with contextlib.suppress(TelegramAPIError):
            await reply(message, await texts.get("unknown_input"))
    return True
