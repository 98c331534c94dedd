"""The cashier's scanner: look a scanned code up, quote the price to pay, redeem.

The till Mini App is the cashier bot with a camera: the same active-cashier
check, the same per-cashier look-up limit, the same bill and the same refusals
in the same words (`backend.replies.till`), and the same redemption, the
domain's single conditional UPDATE, so two tills confirming one code at once
end with one 200 and one 409. Look-up, quote and redemption each resolve a
typed code, so each counts as a look-up.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request

from backend.domain import cashiers
from backend.domain.errors import ErrorCode
from backend.domain.models import Cashier
from backend.mini_apps.access import (
    App,
    Refusal,
    body_of,
    documented,
    json_body,
    launched_by,
    runtime_of,
    text_field,
)
from backend.mini_apps.init_data import LaunchUser
from backend.mini_apps.views import discount_facts, money
from backend.replies.till import (
    INACTIVE,
    NOT_ALLOWED,
    Found,
    Redeemed,
    Reply,
    done_text,
    find_offer,
    notify_customer,
    offer_text,
    redeem_offer,
    unreadable_amount,
)
from backend.runtime import Runtime

router = APIRouter(prefix="/app/api", tags=["mini apps"])
Json = dict[str, Any]


@router.get(
    "/till",
    summary="The cashier at this till (initData of the cashier bot)",
    responses=documented(401, 403),
)
async def till(request: Request) -> Json:
    runtime = runtime_of(request)
    user = await launched_by(request, App.TILL)
    async with runtime.sessions() as session:
        cashier = await cashiers.find_by_telegram_id(session, user.id)
    if cashier is None or not cashier.is_active:
        raise await refusal(runtime, NOT_ALLOWED if cashier is None else INACTIVE)
    who = {"name": cashier.name, "store": cashier.store}
    return {"cashier": who, "texts": await texts_for(runtime, cashier)}


@router.post(
    "/till/lookup",
    summary="What a scanned or typed code gives (counts as a look-up)",
    responses=documented(401, 403, 404, 409, 422, 429),
    openapi_extra=json_body(code="string"),
)
async def lookup(request: Request) -> Json:
    runtime = runtime_of(request)
    user = await launched_by(request, App.TILL)
    found = await found_for(runtime, user, await till_line(request, "code"))
    customer = found.offer.customer
    return {
        **await discount_facts(runtime.texts, found.offer.discount),
        "customerName": customer.first_name if customer else None,
        "message": (await offer_text(runtime.texts, found)).plain,
    }


@router.post(
    "/till/quote",
    summary="The price to pay for a purchase with this code (counts as a look-up)",
    responses=documented(401, 403, 404, 409, 422, 429),
    openapi_extra=json_body(code="string", amount="string"),
)
async def quote(request: Request) -> Json:
    runtime = runtime_of(request)
    user = await launched_by(request, App.TILL)
    found = await found_for(runtime, user, await till_line(request, "code", "amount"))
    discount = found.offer.discount
    if found.amount is None:  # no amount, or it was read as part of the code
        raise await refusal(runtime, unreadable_amount(discount.code))
    return {
        "code": discount.code,
        "percent": discount.percent,
        **money(found.amount, discount.percent),
        "message": (await offer_text(runtime.texts, found)).plain,
    }


@router.post(
    "/till/redeem",
    summary="Redeem the code, as the bot's «Погасить» does (counts as a look-up)",
    responses=documented(401, 403, 404, 409, 422, 429),
    openapi_extra=json_body(code="string", amount="string?"),
)
async def redeem(request: Request, after: BackgroundTasks) -> Json:
    """The redemption commits, the till is answered, then the customer is told (as the bot
    tells them): a slow or blocked customer chat never holds up the till."""
    runtime = runtime_of(request)
    user = await launched_by(request, App.TILL)
    typed = await till_line(request, "code")
    texts = runtime.texts
    outcome: Found | Redeemed | Reply | None
    async with runtime.sessions() as session:
        outcome = await find_offer(session, user.id, typed, runtime.rate_limiter, texts)
        if isinstance(outcome, Found):
            offered = outcome.offer.discount.id, outcome.amount
            await session.rollback()  # the look-up's read ends; the redemption is its own
            outcome = await redeem_offer(session, user.id, *offered, texts)
    if not isinstance(outcome, Redeemed):
        raise await refusal(runtime, outcome if isinstance(outcome, Reply) else NOT_ALLOWED)
    after.add_task(notify_customer, outcome, runtime.bots, texts)
    discount, amount = outcome.redemption.discount, outcome.amount
    no_amount = {"amount": None, "discount": None, "toPay": None}
    return {
        "code": discount.code,
        "percent": discount.percent,
        **(money(amount, discount.percent) if amount is not None else no_amount),
        "message": (await done_text(texts, outcome)).plain,
    }


async def till_line(request: Request, *required: str) -> str:
    """The code and the amount posted, as one till line (what the bot reads when typed)."""
    body = await body_of(request, *required)
    typed = [await text_field(request, body, name) for name in ("code", "amount") if name in body]
    return " ".join(typed)


async def found_for(runtime: Runtime, user: LaunchUser, typed: str) -> Found:
    async with runtime.sessions() as session:
        found = await find_offer(session, user.id, typed, runtime.rate_limiter, runtime.texts)
    if isinstance(found, Reply):
        raise await refusal(runtime, found)
    return found


async def refusal(runtime: Runtime, reply: Reply) -> Refusal:
    """The bot's answer to a refused till line, as an HTTP refusal."""
    text = await reply.text(runtime.texts)
    seconds = reply.values.get("seconds") if reply.refused is ErrorCode.THROTTLED else None
    return Refusal(reply.refused or ErrorCode.VALIDATION, text.plain, _int_or_none(seconds))


def _int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) else None


async def texts_for(runtime: Runtime, cashier: Cashier) -> Json:
    texts = runtime.texts
    return {
        "title": await texts.plain("mini_app_till_title"),
        "welcome": await texts.plain("cashier_welcome", name=cashier.name, store=cashier.store),
        "help": await texts.plain("cashier_help"),
        "confirm": await texts.plain("cashier_confirm"),
    }
