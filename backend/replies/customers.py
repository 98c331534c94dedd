"""What a customer is told about their discounts, birthday and subscription, in any app.

The bot's «Мои скидки» and the card Mini App show a discount with the same
caption (`discount_caption`); a birthday typed in the chat or in the card is
answered with the same words (`birthday_saved_reply`, `birthday_refusal`);
coming back (the bot's «resume», the card's switch) hands over a birthday gift
that came due while away and greets the same way (`subscribe`, `greetings`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import birthdays, customers
from backend.domain.errors import BirthdayAlreadySet, InvalidBirthday
from backend.domain.models import Discount
from backend.domain.templates import Rendered
from backend.telegram.texts import Texts


async def discount_caption(texts: Texts, discount: Discount) -> Rendered:
    """A code with what it is for and its last day: the caption under its QR."""
    return await texts.get(
        "discount_line",
        code=discount.code,
        percent=discount.percent,
        kind=(await texts.kind(discount.kind)).plain,
        expires_on=texts.last_day(discount.expires_at),
    )


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


async def birthday_refusal(texts: Texts, error: InvalidBirthday | BirthdayAlreadySet) -> Rendered:
    """Why a birthday was not stored: what is wrong with the date, or the date on record."""
    if isinstance(error, BirthdayAlreadySet):
        return await texts.get(
            "birthday_already_set", birthday=texts.day(error.details["birthday"])
        )
    return await texts.get(f"birthday_{error.details['reason']}")


@dataclass(frozen=True)
class Subscribed:
    """A subscription, with who the customer was before it and any gift they came back to."""

    result: customers.Subscription
    was_new: bool
    was_active: bool
    back: birthdays.BirthdaySaved | None

    @property
    def gift_back(self) -> Discount | None:
        """The birthday gift handed over on coming back, if one came due while away."""
        return self.back.gift if self.back is not None else None


async def subscribe(
    session: AsyncSession,
    who: customers.TelegramProfile,
    *,
    source: str | None,
    now: datetime,
    zone: tzinfo,
) -> Subscribed:
    result = await customers.subscribe(session, who, now=now, source=source)
    was_active = result.was_active
    # Registered while asked to join the channel is not subscribed yet: still new.
    was_new = result.first_subscription
    birthday = result.customer.birthday
    back = None
    if not was_new and not was_active and birthday is not None:
        # Told while away that /start brings the birthday gifts back: keep it.
        back = await birthdays.gift_if_due(session, result.customer, birthday, now=now, zone=zone)
    return Subscribed(result, was_new, was_active, back)


async def greetings(texts: Texts, done: Subscribed) -> list[Rendered]:
    """What a (re)subscribed customer reads, in order: the greeting, then the welcome
    discount or the birthday gift they came back to, if any."""
    customer, discount = done.result.customer, done.result.discount
    name = customer.first_name
    if discount is not None:
        return [
            await texts.get("welcome", first_name=name),
            await texts.get(
                "welcome_discount",
                first_name=name,
                percent=discount.percent,
                code=discount.code,
                expires_on=texts.last_day(discount.expires_at),
            ),
        ]
    key = "welcome" if done.was_new else "already_subscribed" if done.was_active else "welcome_back"
    said = [await texts.get(key, first_name=name)]
    gift = done.gift_back
    if gift is not None:
        said.append(
            await texts.get(
                "birthday_discount",
                first_name=name,
                percent=gift.percent,
                code=gift.code,
                expires_on=texts.last_day(gift.expires_at),
            )
        )
    return said
