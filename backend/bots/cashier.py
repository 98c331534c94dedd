"""The cashier bot: join with an invite, look a code up, confirm to redeem, see today.

Only active cashiers get past `/start` (a deactivated one is told so and is
not offered the till); look-ups are rate-limited per cashier so codes cannot
be guessed, and only lines that could be a code count (`amounts`): a greeting
or a lone amount is answered with what to type. The till shows money as a
Russian cashier reads it, with the discount and the price to pay (`money`).
Redemption is the domain's single conditional UPDATE, so two tills
confirming one code at once end with one success.

Fifty tills press "confirm" at once, so a press is kept short: one
transaction (the update's record, the UPDATE that also checks the cashier,
a re-read, the audit line), the press acknowledged in the webhook's answer,
and the till's and the customer's messages sent side by side. Database work
comes first and the words after it (`Reply`), so no handler waits for a
connection while holding one.

Handlers flagged `active_cashier` are given the sender (`require_active_cashier`);
the look-up reads the cashier itself, in the one session it looks the code up in.
The till's rules and words are `backend.replies.till`, shared with the scanner
Mini App; this module is the chat around them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiogram import F, Router
from aiogram.dispatcher.flags import get_flag
from aiogram.filters import Command, CommandObject, CommandStart, ExceptionTypeFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.methods import AnswerCallbackQuery, TelegramMethod
from aiogram.types import (
    CallbackQuery,
    ErrorEvent,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.bots.texts import reply
from backend.bots.transactions import in_transaction, reading
from backend.domain import cashiers, discounts
from backend.domain.amounts import TillInputError, parse_amount
from backend.domain.clock import business_date, utcnow
from backend.domain.errors import InviteInvalid
from backend.domain.models import Cashier
from backend.domain.money import rubles
from backend.rate_limits import RateLimiter
from backend.replies.till import (
    Reply,
    done_text,
    find_offer,
    notify_customer,
    offer_text,
    redeem_offer,
)
from backend.settings import Settings
from backend.telegram.texts import Texts

if TYPE_CHECKING:
    from backend.bots.update_claims import UpdateClaim
    from backend.telegram.clients import BotClients

log = logging.getLogger("dvorik.bots.cashier")


class Redeem(CallbackData, prefix="redeem"):
    discount_id: int
    amount_cents: int = -1  # -1: no purchase amount given


# A handler flagged so runs for an active cashier only, who is given to it as `cashier`.
ACTIVE_CASHIER = {"active_cashier": True}


def create_router() -> Router:
    router = Router(name="cashier")
    router.message.middleware(require_active_cashier)
    router.edited_message.middleware(require_active_cashier)
    router.message.register(start, CommandStart())
    router.message.register(today, Command("today"), flags=ACTIVE_CASHIER)
    router.message.register(show_help, Command("help"), flags=ACTIVE_CASHIER)
    router.message.register(look_up, F.text)
    router.callback_query.register(redeem, Redeem.filter(), flags={"claims_update": True})
    router.message.register(anything_else, flags=ACTIVE_CASHIER)
    router.edited_message.register(anything_else, flags=ACTIVE_CASHIER)
    router.callback_query.register(stale_button)
    router.errors.register(invite_invalid, ExceptionTypeFilter(InviteInvalid))
    router.errors.register(on_error)
    return router


async def start(
    message: Message,
    command: CommandObject,
    sessions: async_sessionmaker[AsyncSession],
    texts: Texts,
) -> None:
    if message.from_user is None:
        return
    telegram_id = message.from_user.id
    cashier = await reading(sessions, cashiers.find_by_telegram_id, telegram_id)
    if cashier is None and command.args:
        cashier = await in_transaction(
            sessions, cashiers.join, command.args, telegram_id, now=utcnow()
        )
    if cashier is None:
        await reply(message, await texts.get("cashier_not_allowed"))
        return
    welcome = "cashier_welcome" if cashier.is_active else "cashier_inactive_start"
    await reply(message, await texts.get(welcome, name=cashier.name, store=cashier.store))


async def invite_invalid(event: ErrorEvent, texts: Texts) -> None:
    """`/start <invite>` with an invite that is unknown, used or expired."""
    if event.update.message is not None:
        await reply(event.update.message, await texts.get("cashier_invite_invalid"))


async def require_active_cashier(
    handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
    event: TelegramObject,
    data: dict[str, Any],
) -> Any:
    """Inner middleware: a handler flagged `active_cashier` gets the sender as `cashier`;
    anyone else is told why not, and the handler does not run."""
    if not get_flag(data, "active_cashier") or not isinstance(event, Message):
        return await handler(event, data)
    sessions: async_sessionmaker[AsyncSession] = data["sessions"]
    texts: Texts = data["texts"]
    cashier = (
        await reading(sessions, cashiers.find_by_telegram_id, event.from_user.id)
        if event.from_user
        else None
    )
    if cashier is None:
        await reply(event, await texts.get("cashier_not_allowed"))
        return None
    if not cashier.is_active:
        await reply(event, await texts.get("cashier_inactive"))
        return None
    data["cashier"] = cashier
    return await handler(event, data)


async def look_up(
    message: Message,
    state: FSMContext,
    sessions: async_sessionmaker[AsyncSession],
    rate_limiter: RateLimiter,
    texts: Texts,
) -> None:
    """A typed code: the cashier, the look-up limit and the code in one session."""
    if message.from_user is None:
        return
    typed = await with_shown_code(message.text or "", state)
    found = await reading(sessions, find_offer, message.from_user.id, typed, rate_limiter, texts)
    if isinstance(found, Reply):
        await reply(message, await found.text(texts))
        return
    discount = found.offer.discount
    await state.update_data(shown_code=discount.code)
    cents = int(found.amount * 100) if found.amount is not None else -1
    button = InlineKeyboardButton(
        text=await texts.plain("cashier_confirm"),
        callback_data=Redeem(discount_id=discount.id, amount_cents=cents).pack(),
    )
    text = await offer_text(texts, found)
    await reply(message, text, reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]))


async def with_shown_code(typed: str, state: FSMContext) -> str:
    """A lone amount («1250») right after a code was shown is the purchase for that code:
    the cashier looks the code up, then types what the customer is buying."""
    shown = (await state.get_data()).get("shown_code")
    if not shown:
        return typed
    try:
        parse_amount(typed)
    except TillInputError:
        return typed
    return f"{shown} {typed}"


async def redeem(
    query: CallbackQuery,
    callback_data: Redeem,
    state: FSMContext,
    sessions: async_sessionmaker[AsyncSession],
    bot_clients: BotClients | None,
    texts: Texts,
    update_claim: UpdateClaim | None = None,
) -> AnswerCallbackQuery | None:
    """ "Confirm" pressed: redeem in one transaction, then tell the till and the customer.

    The transaction also records the update (`claims_update`), so a press
    costs one commit, and a repeated delivery of it backs out unanswered.
    The button press is acknowledged by returning the answer: on a webhook it
    goes back in the HTTP response (no Bot API call to wait for), on polling
    aiogram calls it. The till's answer and the customer's notice go to the
    Bot API together, after the commit, so the row is never locked while
    Telegram is waited for. Should the process die between the commit and the
    answer, pressing again (or typing the code) says the code is used, when
    and by whom: the redemption is never repeated and never lost.
    """
    acknowledged = query.answer()
    await state.update_data(shown_code=None)  # the next amount is for the next code
    if not isinstance(query.message, Message):
        return acknowledged
    amount = Decimal(callback_data.amount_cents) / 100 if callback_data.amount_cents >= 0 else None
    async with sessions() as session:
        outcome = await redeem_offer(
            session, query.from_user.id, callback_data.discount_id, amount, texts, update_claim
        )
    if outcome is None:  # Telegram delivered this press twice: the first one answers
        return None
    if isinstance(outcome, Reply):
        await reply(query.message, await outcome.text(texts))
        return acknowledged
    till = await done_text(texts, outcome)
    told, _ = await asyncio.gather(
        send(reply(query.message, till)),
        notify_customer(outcome, bot_clients, texts),
        return_exceptions=True,
    )
    if isinstance(told, BaseException):
        raise told
    return acknowledged


async def send(method: TelegramMethod[Any]) -> None:
    """A Bot API call as a coroutine, for `asyncio.gather` (methods are awaitable only)."""
    await method


async def today(
    message: Message,
    cashier: Cashier,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    texts: Texts,
) -> None:
    zone = settings.zone
    day = business_date(utcnow(), zone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = start + timedelta(days=1)
    redeemed = await reading(
        sessions, discounts.redeemed_by_cashier, cashier.id, start=start, end=end
    )
    lines = [
        await texts.get(
            "cashier_today_line",
            time=texts.clock(item.redeemed_at) if item.redeemed_at else "",
            code=item.code,
            percent=item.percent,
            amount=rubles(item.purchase_amount) if item.purchase_amount is not None else "—",
        )
        for item in redeemed
    ]
    await reply(
        message,
        await texts.get(
            "cashier_today", count=len(redeemed), lines="\n".join(line.plain for line in lines)
        ),
    )


async def show_help(message: Message, texts: Texts) -> None:
    await reply(message, await texts.get("cashier_help"))


async def anything_else(message: Message, texts: Texts) -> None:
    await reply(message, await texts.get("cashier_unknown_input"))


async def stale_button(query: CallbackQuery, texts: Texts) -> AnswerCallbackQuery:
    """A button this bot no longer knows: a toast, in the webhook's answer like any press."""
    return query.answer(await texts.plain("cashier_unknown_input"))


async def on_error(event: ErrorEvent) -> bool:
    log.exception(
        "cashier bot failed on update %s", event.update.update_id, exc_info=event.exception
    )
    return True
