"""The cashier bot: join with an invite, look a code up, confirm to redeem, see today.

Only active cashiers get past `/start`; look-ups are rate-limited per cashier
so codes cannot be guessed; redemption is the domain's single conditional
UPDATE, so two tills confirming one code at once end with one success.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    ErrorEvent,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from backend.bots.texts import Texts
from backend.domain import cashiers, discounts, shop_settings
from backend.domain.clock import business_date, utcnow
from backend.domain.codes import normalize_code
from backend.domain.errors import (
    CashierInactive,
    CodeAlreadyRedeemed,
    CodeCancelled,
    CodeExpired,
    CodeNotFound,
    DomainError,
    InviteInvalid,
)
from backend.domain.models import Cashier, Customer, Discount
from backend.runtime import Runtime

log = logging.getLogger("dvorik.bots.cashier")
MAX_AMOUNT = Decimal("10000000")


class Redeem(CallbackData, prefix="redeem"):
    discount_id: int
    amount_cents: int = -1  # -1: no purchase amount given


def create_router() -> Router:
    router = Router(name="cashier")
    router.message.register(start, CommandStart())
    router.message.register(today, Command("today"))
    router.message.register(show_help, Command("help"))
    router.message.register(look_up, F.text)
    router.callback_query.register(redeem, Redeem.filter())
    router.message.register(anything_else)
    router.edited_message.register(anything_else)
    router.callback_query.register(stale_button)
    router.errors.register(on_error)
    return router


async def start(message: Message, command: CommandObject, runtime: Runtime, texts: Texts) -> None:
    if message.from_user is None:
        return
    cashier = await current_cashier(message.from_user.id, runtime)
    if cashier is None and command.args:
        try:
            async with runtime.sessions() as session, session.begin():
                cashier = await cashiers.join(
                    session, command.args, message.from_user.id, now=utcnow()
                )
        except InviteInvalid:
            await message.answer(await texts.get("cashier_invite_invalid"))
            return
    if cashier is None:
        await message.answer(await texts.get("cashier_not_allowed"))
        return
    await message.answer(await texts.get("cashier_welcome", name=cashier.name, store=cashier.store))


async def current_cashier(telegram_id: int, runtime: Runtime) -> Cashier | None:
    async with runtime.sessions() as session:
        return await cashiers.find_by_telegram_id(session, telegram_id)


async def active_cashier(message: Message, runtime: Runtime, texts: Texts) -> Cashier | None:
    """The sender if they are an active cashier; otherwise they are told why not."""
    cashier = await current_cashier(message.from_user.id, runtime) if message.from_user else None
    if cashier is None:
        await message.answer(await texts.get("cashier_not_allowed"))
        return None
    if not cashier.is_active:
        await message.answer(await texts.get("cashier_inactive"))
        return None
    return cashier


def parse_request(text: str) -> tuple[str, Decimal | None] | None:
    """'ABCD2345', 'abcd 2345' or 'ABCD2345 1250,50' → (code text, amount)."""
    parts = text.strip().split()
    if not parts or len(text) > 64:
        return None
    amount = None
    whole = "".join(parts)
    if len(parts) > 1 and normalize_code(whole) and not normalize_code("".join(parts[:-1])):
        return whole, None  # 'abcd 2345' is a code typed in two halves, not code + amount
    if len(parts) > 1:
        try:
            amount = Decimal(parts[-1].replace(",", "."))
        except InvalidOperation:
            amount = None
        else:
            parts = parts[:-1]
            if not Decimal(0) <= amount < MAX_AMOUNT:
                return None
    return "".join(parts), amount


async def look_up(message: Message, runtime: Runtime, texts: Texts) -> None:
    cashier = await active_cashier(message, runtime, texts)
    if cashier is None:
        return
    request = parse_request(message.text or "")
    if request is None:
        await message.answer(await texts.get("cashier_unknown_input"))
        return
    if not await within_limit(cashier, runtime, texts, message):
        return
    code_text, amount = request
    try:
        async with runtime.sessions() as session:
            discount = await discounts.lookup(session, code_text, now=utcnow())
            customer = await session.get(Customer, discount.customer_id)
    except DomainError as error:
        await message.answer(await refusal(error, code_text, runtime, texts))
        return
    cents = int(amount * 100) if amount is not None else -1
    button = InlineKeyboardButton(
        text=await texts.get("cashier_confirm"),
        callback_data=Redeem(discount_id=discount.id, amount_cents=cents).pack(),
    )
    await message.answer(
        await texts.get(
            "cashier_code_ok",
            code=discount.code,
            percent=discount.percent,
            kind=await texts.kind(discount.kind),
            expires_on=texts.day(discount.expires_at),
            customer_name=customer.first_name if customer else "—",
            amount=f"{amount:.2f}" if amount is not None else "—",
        ),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]),
    )


async def within_limit(cashier: Cashier, runtime: Runtime, texts: Texts, message: Message) -> bool:
    async with runtime.sessions() as session:
        limit = await shop_settings.get_int(session, "cashier_lookups_per_minute")
    verdict = await runtime.rate_limiter.hit(
        f"cashier-lookup:{cashier.id}", limit=limit, window_seconds=60
    )
    if not verdict.allowed:
        await message.answer(await texts.get("cashier_rate_limited", seconds=verdict.retry_after))
    return verdict.allowed


async def redeem(
    query: CallbackQuery, callback_data: Redeem, runtime: Runtime, texts: Texts
) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    cashier = await current_cashier(query.from_user.id, runtime)
    if cashier is None:
        await query.message.answer(await texts.get("cashier_not_allowed"))
        return
    amount = Decimal(callback_data.amount_cents) / 100 if callback_data.amount_cents >= 0 else None
    async with runtime.sessions() as session:
        known = await session.get(Discount, callback_data.discount_id)
    if known is None:
        await query.message.answer(await texts.get("cashier_code_not_found"))
        return
    try:
        async with runtime.sessions() as session, session.begin():
            discount = await discounts.redeem(
                session, known.code, cashier, now=utcnow(), purchase_amount=amount
            )
            customer = await session.get(Customer, discount.customer_id)
    except CashierInactive:
        await query.message.answer(await texts.get("cashier_inactive"))
        return
    except DomainError as error:
        await query.message.answer(await refusal(error, known.code, runtime, texts))
        return
    await query.message.answer(
        await texts.get(
            "cashier_redeemed",
            code=discount.code,
            percent=discount.percent,
            amount=f"{amount:.2f}" if amount is not None else "—",
        )
    )
    if customer is not None:
        await notify_customer(customer, discount, cashier, runtime, texts)


async def notify_customer(
    customer: Customer, discount: Discount, cashier: Cashier, runtime: Runtime, texts: Texts
) -> None:
    """Tell the customer their code was used; a blocked bot or outage must not undo it."""
    bots = runtime.bots
    if bots is None:
        return
    text = await texts.get(
        "discount_redeemed_notice",
        first_name=customer.first_name,
        percent=discount.percent,
        code=discount.code,
        store=cashier.store,
    )
    try:
        await bots.customer.bot.send_message(customer.telegram_id, text)
    except TelegramAPIError as error:
        log.info("could not notify customer %s: %s", customer.id, error)


async def refusal(error: DomainError, code: str, runtime: Runtime, texts: Texts) -> str:
    """Why a code cannot be used, in the till's words (with when and by whom if used)."""
    if isinstance(error, CodeNotFound):
        return await texts.get("cashier_code_not_found")
    if isinstance(error, CodeAlreadyRedeemed):
        async with runtime.sessions() as session:
            discount = await discounts.find_by_code(session, code)
            who = await session.get(Cashier, discount.cashier_id) if discount.cashier_id else None
        if discount.redeemed_at is not None:
            when = discount.redeemed_at
            return await texts.get(
                "cashier_code_redeemed_details",
                code=discount.code,
                redeemed_at=f"{texts.day(when)} {texts.clock(when)}",
                cashier=who.name if who else "—",
                store=discount.store or "—",
            )
        return await texts.get("cashier_code_redeemed", code=discount.code)
    if isinstance(error, CodeExpired):
        return await texts.get("cashier_code_expired", code=code.upper())
    if isinstance(error, CodeCancelled):
        return await texts.get("cashier_code_cancelled", code=code.upper())
    if isinstance(error, CashierInactive):
        return await texts.get("cashier_inactive")
    return await texts.get("cashier_unknown_input")


async def today(message: Message, runtime: Runtime, texts: Texts) -> None:
    cashier = await active_cashier(message, runtime, texts)
    if cashier is None:
        return
    zone = runtime.settings.zone
    day = business_date(utcnow(), zone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    async with runtime.sessions() as session:
        redeemed = await discounts.redeemed_by_cashier(
            session, cashier.id, start=start, end=start + timedelta(days=1)
        )
    lines = [
        await texts.get(
            "cashier_today_line",
            time=texts.clock(item.redeemed_at) if item.redeemed_at else "",
            code=item.code,
            percent=item.percent,
            amount=f"{item.purchase_amount:.2f}" if item.purchase_amount is not None else "—",
        )
        for item in redeemed
    ]
    await message.answer(
        await texts.get("cashier_today", count=len(redeemed), lines="\n".join(lines))
    )


async def show_help(message: Message, runtime: Runtime, texts: Texts) -> None:
    if await active_cashier(message, runtime, texts) is not None:
        await message.answer(await texts.get("cashier_help"))


async def anything_else(message: Message, runtime: Runtime, texts: Texts) -> None:
    if await active_cashier(message, runtime, texts) is not None:
        await message.answer(await texts.get("cashier_unknown_input"))


async def stale_button(query: CallbackQuery, texts: Texts) -> None:
    await query.answer(await texts.get("cashier_unknown_input"))


async def on_error(event: ErrorEvent) -> bool:
    log.exception(
        "cashier bot failed on update %s", event.update.update_id, exc_info=event.exception
    )
    return True
