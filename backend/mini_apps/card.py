"""The customer's card: their discounts with QR codes, the birthday form, the subscription.

The card shows exactly what the bot's «Мои скидки» shows: the same discounts
(`discounts.active_for_customer`, in its order), each with the bot's caption
and a QR of the code alone. A birthday typed here is read, stored and answered
as in the chat, and the switch subscribes and unsubscribes as /start and /stop
do (`backend.replies.customers`). Someone who never pressed /start is told to.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request

from backend.domain import birthdays, customers, discounts
from backend.domain.clock import business_date, utcnow
from backend.domain.errors import BirthdayAlreadySet, ErrorCode, InvalidBirthday
from backend.domain.models import Customer, CustomerStatus, Discount
from backend.mini_apps.access import (
    App,
    Refusal,
    body_of,
    documented,
    json_body,
    launched_by,
    refused,
    runtime_of,
    text_field,
)
from backend.mini_apps.init_data import LaunchUser
from backend.mini_apps.views import discount_facts
from backend.replies.customers import (
    birthday_refusal,
    birthday_saved_reply,
    discount_caption,
    greetings,
    subscribe,
)
from backend.runtime import Runtime
from backend.telegram.qr_codes import qr_png
from backend.telegram.texts import Texts

router = APIRouter(prefix="/app/api", tags=["mini apps"])
Json = dict[str, Any]


@router.get(
    "/card",
    summary="The customer's card (initData of the customer bot)",
    responses=documented(401, 403),
)
async def card(request: Request) -> Json:
    runtime = runtime_of(request)
    user = await launched_by(request, App.CARD)
    return await card_of(runtime, await customer_of(runtime, user))


@router.post(
    "/birthday",
    summary="Set the birthday, as the chat's /birthday does",
    responses=documented(401, 403, 409, 422),
    openapi_extra=json_body(birthday="string"),
)
async def birthday(request: Request) -> Json:
    runtime = runtime_of(request)
    user = await launched_by(request, App.CARD)
    typed = await text_field(request, await body_of(request, "birthday"), "birthday")
    customer = await customer_of(runtime, user)
    now, zone, texts = utcnow(), runtime.settings.zone, runtime.texts
    try:
        born = birthdays.parse_birthday(typed, today=business_date(now, zone))
        async with runtime.sessions() as session, session.begin():
            saved = await birthdays.save_birthday(session, customer.id, born, now=now, zone=zone)
    except (InvalidBirthday, BirthdayAlreadySet) as error:
        raise refused(error.code, await birthday_refusal(texts, error)) from None
    said = await birthday_saved_reply(texts, saved, born)
    return {"message": said.plain, "card": await card_of(runtime, saved.customer)}


@router.post(
    "/subscription",
    summary="Mailings on or off, as the bot's resume and /stop",
    responses=documented(401, 403, 422),
    openapi_extra=json_body(subscribed="boolean"),
)
async def subscription(request: Request) -> Json:
    runtime = runtime_of(request)
    user = await launched_by(request, App.CARD)
    wanted = (await body_of(request, "subscribed"))["subscribed"]
    if not isinstance(wanted, bool):
        raise refused(ErrorCode.VALIDATION, await runtime.texts.get("mini_app_bad_request"))
    customer = await customer_of(runtime, user)
    texts, now = runtime.texts, utcnow()
    if not wanted:
        async with runtime.sessions() as session, session.begin():
            customer = await customers.unsubscribe(session, customer.id, now=now)
        said = await texts.plain("unsubscribed", first_name=customer.first_name)
        return {"message": said, "card": await card_of(runtime, customer)}
    who = customers.TelegramProfile(
        telegram_id=user.id,
        first_name=user.first_name,
        last_name=user.last_name,
        username=user.username,
        language=user.language_code,
    )
    async with runtime.sessions() as session, session.begin():
        done = await subscribe(session, who, source=None, now=now, zone=runtime.settings.zone)
    greeted = [text.plain for text in await greetings(texts, done)]
    return {"message": "\n\n".join(greeted), "card": await card_of(runtime, done.result.customer)}


async def customer_of(runtime: Runtime, user: LaunchUser) -> Customer:
    """The customer who opened the card; 403 for someone who never pressed /start."""
    async with runtime.sessions() as session:
        customer = await customers.find_by_telegram_id(session, user.id)
    if customer is None:
        text = await runtime.texts.get("not_registered")
        raise Refusal(ErrorCode.FORBIDDEN, text.plain)
    return customer


async def card_of(runtime: Runtime, customer: Customer) -> Json:
    async with runtime.sessions() as session:
        usable = await discounts.active_for_customer(session, customer.id, now=utcnow())
    return await card_view(runtime.texts, customer, usable)


async def card_view(texts: Texts, customer: Customer, usable: Sequence[Discount]) -> Json:
    """The card as the page shows it; the discounts in the bot's order, with its captions."""
    name = customer.first_name
    return {
        "customer": {
            "firstName": name,
            "birthday": customer.birthday.isoformat() if customer.birthday else None,
            "subscribed": customer.status is CustomerStatus.ACTIVE,
            "since": business_date(customer.created_at, texts.zone).isoformat(),
        },
        "discounts": [await discount_view(texts, discount) for discount in usable],
        "texts": {
            "title": await texts.plain("mini_app_card_title"),
            "empty": await texts.plain("cabinet_empty", first_name=name),
            "count": await texts.plain("cabinet", first_name=name, count=len(usable)),
            "birthdayPrompt": await texts.plain("mini_app_birthday_prompt"),
            "noBirthday": await texts.plain("profile_no_birthday"),
            "subscribed": await texts.plain("status_subscribed"),
            "unsubscribed": await texts.plain("status_unsubscribed"),
        },
    }


async def discount_view(texts: Texts, discount: Discount) -> Json:
    qr = base64.b64encode(qr_png(discount.code)).decode()
    return {
        **await discount_facts(texts, discount),
        "caption": (await discount_caption(texts, discount)).plain,
        "qr": f"data:image/png;base64,{qr}",
    }
