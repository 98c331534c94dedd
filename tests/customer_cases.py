"""Cases the customer bot's tests and the card Mini App's tests share, so both keep one rule.

`BAD_BIRTHDAYS`: dates the chat and the card refuse, with a word of why.
`give_every_kind`: a customer's discounts of every kind besides the
subscription one /start gave (a birthday gift, a manual one, a broadcast's promo).
`subscriptions`: what a Telegram user has after their /starts, (customers, discounts).
"""

from __future__ import annotations

from datetime import tzinfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import discounts
from backend.domain.audit import Actor
from backend.domain.clock import business_date, utcnow
from backend.domain.models import Customer, Discount, DiscountKind

BAD_BIRTHDAYS = [
    ("31.02.2000", "не бывает"),
    ("2000-01-01", "ДД.ММ.ГГГГ"),
    ("01.01.2999", "ещё не наступила"),
    ("01.01.1850", "больше 120 лет"),
    ("завтра", "ДД.ММ.ГГГГ"),
]

# What each kind of discount is called on its card (the bot's kind_* templates).
KIND_LABELS = {
    DiscountKind.SUBSCRIPTION: "за подписку",
    DiscountKind.BIRTHDAY: "ко дню рождения",
    DiscountKind.MANUAL: "персональная",
    DiscountKind.PROMO: "по акции",
}


def born_today(zone: tzinfo) -> str:
    """Today's date in the shop's zone, as a customer born on it in 1990 types it."""
    return f"{business_date(utcnow(), zone):%d.%m}.1990"


async def give_every_kind(sessions: async_sessionmaker[AsyncSession], telegram_id: int) -> None:
    """A birthday gift, a marketer's personal discount and a broadcast's promo."""
    issued = [
        discounts.IssueRequest(DiscountKind.BIRTHDAY, once_key=discounts.birthday_once_key(2026)),
        discounts.IssueRequest(DiscountKind.MANUAL, percent=15, reason="извинение"),
        discounts.IssueRequest(DiscountKind.PROMO, percent=20, reason="весенняя рассылка"),
    ]
    async with sessions() as session, session.begin():
        customer = await session.scalar(select(Customer).where(Customer.telegram_id == telegram_id))
        assert customer is not None
        for request in issued:
            await discounts.issue(
                session, customer.id, request, actor=Actor.system("marketing"), now=utcnow()
            )


async def subscriptions(
    sessions: async_sessionmaker[AsyncSession], telegram_id: int
) -> tuple[int, int]:
    """(customers, discounts) the Telegram user has: (1, 1) after one /start, or any number."""
    async with sessions() as session:
        customers = await session.scalar(
            select(func.count(Customer.id)).where(Customer.telegram_id == telegram_id)
        )
        discounts = await session.scalar(
            select(func.count(Discount.id))
            .join(Customer, Customer.id == Discount.customer_id)
            .where(Customer.telegram_id == telegram_id)
        )
    return int(customers or 0), int(discounts or 0)
