"""The till's rules, for every till: the cashier bot's chat and the scanner Mini App.

A code is looked up for an active cashier only, counted against the
per-cashier look-up limit (`cashier_lookups_per_minute`, so codes cannot be
guessed), and offered with its bill: the purchase, the discount and the price
to pay, as a Russian cashier reads money. Redemption is the domain's single
conditional UPDATE, so two tills confirming one code at once end with one
success. Why a code cannot be used is a `Reply`: the template the bot sends,
and the error code an HTTP till answers with (`refused`), decided here once.

Database work comes first and the words after it: a `Reply` is a template key
and its values, put into words once the session is closed, because a template
reload takes a connection of its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from aiogram.exceptions import TelegramAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import cashiers, discounts, shop_settings
from backend.domain.amounts import NotACode, UnreadableAmount, parse_till_line
from backend.domain.clock import utcnow
from backend.domain.errors import (
    CashierInactive,
    CodeAlreadyRedeemed,
    CodeCancelled,
    CodeExpired,
    CodeNotFound,
    DomainError,
    ErrorCode,
    NotFound,
)
from backend.domain.models import Discount
from backend.domain.money import bill, rubles
from backend.domain.templates import Rendered
from backend.observability.metrics import record_redemption
from backend.rate_limits import RateLimiter
from backend.telegram.texts import Texts

if TYPE_CHECKING:
    from backend.telegram.clients import BotClients

log = logging.getLogger("dvorik.replies.till")


@dataclass(frozen=True)
class Reply:
    """What the till is told, as a template and its values; `refused` says why not, if not."""

    key: str
    values: dict[str, object] = field(default_factory=dict)
    refused: ErrorCode | None = None

    async def text(self, texts: Texts) -> Rendered:
        return await texts.get(self.key, **self.values)


NOT_ALLOWED = Reply("cashier_not_allowed", refused=ErrorCode.FORBIDDEN)
INACTIVE = Reply("cashier_inactive", refused=ErrorCode.CASHIER_INACTIVE)


@dataclass(frozen=True)
class Found:
    """A code the till may redeem, and the purchase amount typed with it."""

    offer: discounts.Offer
    amount: Decimal | None


@dataclass(frozen=True)
class Redeemed:
    """A code this till just redeemed, and the purchase amount confirmed with it."""

    redemption: discounts.Redemption
    amount: Decimal | None


class Claim(Protocol):
    """A bot update's record, taken in the redemption's transaction (`bots.update_claims`)."""

    async def take(self, session: AsyncSession) -> bool: ...

    async def take_alone(self) -> bool: ...


def bill_values(amount: Decimal, percent: int) -> dict[str, object]:
    """The purchase, the discount and the price to pay, as the till shows money."""
    purchase = bill(amount, percent)
    return {
        "amount": rubles(purchase.amount),
        "discount": rubles(purchase.discount),
        "to_pay": rubles(purchase.to_pay),
    }


async def find_offer(
    session: AsyncSession, telegram_id: int, typed: str, rate_limiter: RateLimiter, texts: Texts
) -> Found | Reply:
    """A typed till line (a code, maybe an amount) for this account: the cashier, the
    look-up limit and the code, in one session. A line that is no code is not counted."""
    cashier = await cashiers.find_by_telegram_id(session, telegram_id)
    if cashier is None:
        return NOT_ALLOWED
    if not cashier.is_active:
        return INACTIVE
    try:
        request = parse_till_line(typed)
    except NotACode:  # not a try at a code: answered, and not counted as a look-up
        return Reply("cashier_not_a_code", refused=ErrorCode.VALIDATION)
    except UnreadableAmount as error:
        return unreadable_amount(error.details["code"])
    limit = await shop_settings.get_int(session, "cashier_lookups_per_minute")
    verdict = await rate_limiter.hit(f"cashier-lookup:{cashier.id}", limit=limit, window_seconds=60)
    if not verdict.allowed:
        return Reply("cashier_rate_limited", {"seconds": verdict.retry_after}, ErrorCode.THROTTLED)
    try:
        offer = await discounts.look_up_offer(session, request.code, now=utcnow())
    except DomainError as error:
        return await refusal(error, session, texts, typed=request.code)
    return Found(offer, request.amount)


def unreadable_amount(code: str) -> Reply:
    return Reply("cashier_amount_unreadable", {"code": code}, ErrorCode.VALIDATION)


async def offer_text(texts: Texts, found: Found) -> Rendered:
    """The code as the till offers it: what it gives, whose it is, and the bill if typed."""
    discount, customer = found.offer.discount, found.offer.customer
    details = {
        "code": discount.code,
        "percent": discount.percent,
        "kind": await texts.kind(discount.kind),
        "expires_on": texts.last_day(discount.expires_at),
        "customer_name": customer.first_name if customer else "—",
    }
    if found.amount is None:
        return await texts.get("cashier_offer", **details)
    return await texts.get(
        "cashier_offer_with_amount", **details, **bill_values(found.amount, discount.percent)
    )


async def done_text(texts: Texts, redeemed: Redeemed) -> Rendered:
    """What the till reads once the code is redeemed, with the price to pay if typed."""
    discount, amount = redeemed.redemption.discount, redeemed.amount
    if amount is None:
        return await texts.get("cashier_done", code=discount.code, percent=discount.percent)
    return await texts.get(
        "cashier_done_with_amount",
        code=discount.code,
        percent=discount.percent,
        **bill_values(amount, discount.percent),
    )


async def redeem_offer(
    session: AsyncSession,
    telegram_id: int,
    discount_id: int,
    amount: Decimal | None,
    texts: Texts,
    claim: Claim | None = None,
) -> Redeemed | Reply | None:
    """The redemption, its audit line and the update's record: one transaction.

    None when this update was handled before (a repeated delivery).
    """
    try:
        async with session.begin():
            if claim is not None and not await claim.take(session):
                return None
            redemption = await discounts.redeem_at_till(
                session, discount_id, telegram_id, now=utcnow(), purchase_amount=amount
            )
    except DomainError as error:
        if claim is not None and not await claim.take_alone():
            return None
        known = await discounts.find_by_id(session, discount_id)
        typed = known.code if known else ""
        return await refusal(error, session, texts, typed=typed, discount=known)
    record_redemption(redemption.discount.kind.value)  # committed: count it once
    return Redeemed(redemption, amount)


async def notify_customer(redeemed: Redeemed, bots: BotClients | None, texts: Texts) -> None:
    """Tell the customer their code was used; a blocked bot or outage must not undo it."""
    redemption = redeemed.redemption
    customer, discount = redemption.customer, redemption.discount
    if bots is None or customer is None:
        return
    text = await texts.get(
        "discount_redeemed_notice",
        first_name=customer.first_name,
        percent=discount.percent,
        code=discount.code,
        store=redemption.cashier.store,
    )
    try:
        await bots.customer.bot.send_message(
            customer.telegram_id, text.text, parse_mode=text.telegram_parse_mode
        )
    except TelegramAPIError as error:
        log.info("could not notify customer %s: %s", customer.id, error)


async def refusal(
    error: DomainError,
    session: AsyncSession,
    texts: Texts,
    *,
    typed: str,
    discount: Discount | None = None,
) -> Reply:
    """Why a code cannot be used, for the till (with when and by whom if used).

    Runs while the session is open, so of `texts` it uses the date formats only.
    """
    if isinstance(error, CodeNotFound):
        return Reply("cashier_code_not_found", refused=error.code)
    if isinstance(error, NotFound):  # the account is no cashier's
        return NOT_ALLOWED
    if isinstance(error, CodeAlreadyRedeemed):
        return await already_redeemed(session, texts, typed, discount)
    if isinstance(error, CodeExpired | CodeCancelled):
        key = "cashier_code_expired" if isinstance(error, CodeExpired) else "cashier_code_cancelled"
        return Reply(key, {"code": typed.upper()}, error.code)
    if isinstance(error, CashierInactive):
        return INACTIVE
    return Reply("cashier_unknown_input", refused=error.code)


async def already_redeemed(
    session: AsyncSession, texts: Texts, typed: str, discount: Discount | None
) -> Reply:
    """A used code: when, by whom and where, when the record says so."""
    if discount is None:
        discount = await discounts.find_by_code(session, typed)
    refused = ErrorCode.CODE_ALREADY_REDEEMED
    cashier_id = discount.cashier_id
    who = await cashiers.find_by_id(session, cashier_id) if cashier_id else None
    if discount.redeemed_at is None:
        return Reply("cashier_code_redeemed", {"code": discount.code}, refused)
    when = discount.redeemed_at
    details: dict[str, object] = {
        "code": discount.code,
        "redeemed_at": f"{texts.day(when)} в {texts.clock(when)}",
        "cashier": who.name if who else "—",
        "store": discount.store or "—",
    }
    return Reply("cashier_code_redeemed_details", details, refused)
