"""The customer bot: subscribe, see discounts with QR codes, birthday, profile, stop/resume.

Handlers are thin: they turn an update into a domain call in one transaction
and a domain answer (or typed error) into a template text. Anything the bot
does not understand gets a polite hint, never an error.
"""

from __future__ import annotations

import contextlib
import io
import logging
from typing import Any

import segno
from aiogram import Bot, F, Router
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
    User,
)

from backend.bots.telegram import TelegramChannels
from backend.bots.texts import Texts, reply
from backend.domain import admins, birthdays, customers, discounts, shop_settings
from backend.domain.channels import must_join
from backend.domain.clock import business_date, utcnow
from backend.domain.errors import BirthdayAlreadySet, InvalidBirthday
from backend.domain.models import Admin, Customer, CustomerStatus
from backend.runtime import Runtime

log = logging.getLogger("dvorik.bots.customer")
MENU = ("button_my_discounts", "button_birthday", "button_profile", "button_help")
MAX_SOURCE = 64


class BirthdayForm(StatesGroup):
    waiting = State()


class CheckChannel(CallbackData, prefix="channel"):
    pass


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
    """Matches a reply-keyboard press by the button's current (template) label."""

    def __init__(self, key: str) -> None:
        self.key = key

    async def __call__(self, message: Message, texts: Texts) -> bool:
        return message.text is not None and message.text == await texts.plain(self.key)


def create_router() -> Router:
    router = Router(name="customer")
    router.message.register(start, CommandStart())
    router.callback_query.register(check_channel, CheckChannel.filter())
    router.message.register(show_discounts, Command("discounts"))
    router.message.register(show_discounts, ButtonPressed("button_my_discounts"))
    router.message.register(ask_birthday, Command("birthday"))
    router.message.register(ask_birthday, ButtonPressed("button_birthday"))
    router.message.register(save_birthday, BirthdayForm.waiting, F.text)
    router.message.register(show_profile, Command("profile"))
    router.message.register(show_profile, ButtonPressed("button_profile"))
    router.message.register(show_help, Command("help"))
    router.message.register(show_help, ButtonPressed("button_help"))
    router.message.register(stop, Command("stop"))
    router.message.register(stop, ButtonPressed("button_stop"))
    router.message.register(resume, ButtonPressed("button_resume"))
    router.message.register(admin_link, Command("admin"))
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
    async with runtime.sessions() as session, session.begin():
        before = await customers.find_by_telegram_id(session, who.telegram_id)
        was_active = before is not None and before.status is CustomerStatus.ACTIVE
        result = await customers.subscribe(session, who, now=utcnow(), source=source)
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
                expires_on=texts.day(result.discount.expires_at),
            ),
        )
        return
    key = "already_subscribed" if was_active else "welcome_back"
    await reply(message, await texts.get(key, first_name=name), reply_markup=keyboard)


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


def qr_png(code: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(code, error="m").save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()


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
        values: dict[str, Any] = {
            "code": discount.code,
            "percent": discount.percent,
            "expires_on": texts.day(discount.expires_at),
        }
        caption = await texts.get("discount_qr_caption", **values)
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
    await reply(message, await texts.get("birthday_prompt"))


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
            await customers.set_own_birthday(session, customer.id, born, now=now)
    except InvalidBirthday as error:
        await reply(message, await texts.get(f"birthday_{error.details['reason']}"))
        return
    except BirthdayAlreadySet as error:
        await state.clear()
        when = texts.day(error.details["birthday"])
        await reply(message, await texts.get("birthday_already_set", birthday=when))
        return
    await state.clear()
    await reply(message, await texts.get("birthday_saved", birthday=texts.day(born)))


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
    admin = await admins.find_by_telegram_id(session, telegram_id)
    if admin is None and telegram_id == runtime.settings.superadmin_telegram_id:
        admin = await admins.first_owner(session)
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
