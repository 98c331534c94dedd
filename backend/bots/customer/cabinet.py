"""What a customer looks up: their usable discounts as QR cards, and their profile.

A discount card is the code's QR with what it is for and its last day: what
the till scans. The profile says who the shop thinks they are and whether
they get the mailings.
"""

from __future__ import annotations

from aiogram.types import BufferedInputFile, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.bots.customer.keyboards import menu
from backend.bots.texts import reply
from backend.bots.transactions import reading
from backend.domain import discounts
from backend.domain.clock import utcnow
from backend.domain.models import Customer, CustomerStatus, Discount
from backend.replies.customers import discount_caption
from backend.telegram.qr_codes import qr_png
from backend.telegram.texts import Texts


async def show_discounts(
    message: Message,
    customer: Customer,
    sessions: async_sessionmaker[AsyncSession],
    texts: Texts,
) -> None:
    usable = await reading(sessions, discounts.active_for_customer, customer.id, now=utcnow())
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
    caption = await discount_caption(texts, discount)
    await message.answer_photo(
        BufferedInputFile(qr_png(discount.code), filename=f"{discount.code}.png"),
        caption=caption.text,
        parse_mode=caption.telegram_parse_mode,
    )


async def show_profile(message: Message, customer: Customer, texts: Texts) -> None:
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
