"""Birthday discounts, given once a day (09:00 in the shop's zone) by the scheduler.

"Today" is the shop's calendar day, not UTC's: at 15:30 UTC on the 9th it is
already the 10th in Vladivostok. A customer born on 29 February celebrates on
28 February in common years. Each customer gets at most one birthday
discount per birthday year (once_key "birthday:YYYY"), so running the job
twice, or on two workers at once, gives nothing the second time.

A customer who tells us their birthday inside the window (on the day itself,
or up to `birthday_days_before` days ahead) gets the gift there and then:
the 09:00 run has already passed them by. `save_birthday` says what will
really happen, so the bot promises nothing the scheduler would not keep.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import customers, discounts, shop_settings
from backend.domain.audit import Actor
from backend.domain.clock import business_date
from backend.domain.errors import InvalidBirthday
from backend.domain.models import Customer, CustomerStatus, Discount, DiscountKind

MAX_AGE_YEARS = 120
_DATE_SHAPE = re.compile(r"^\s*(\d{1,2})[.\-/ ](\d{1,2})[.\-/ ](\d{4})\s*$")


def parse_birthday(text: str, *, today: date) -> date:
    """A customer's typed birthday (DD.MM.YYYY) as a date, or InvalidBirthday with the reason.

    Reasons: bad_format (not DD.MM.YYYY), not_a_date (31.02), in_future,
    too_old (over 120 years). The bot answers each with its own Russian text.
    """
    match = _DATE_SHAPE.match(text[:64])
    if match is None:
        raise InvalidBirthday("expected DD.MM.YYYY", reason="bad_format")
    day, month, year = (int(part) for part in match.groups())
    try:
        born = date(year, month, day)
    except ValueError:
        raise InvalidBirthday("no such date", reason="not_a_date") from None
    if born > today:
        raise InvalidBirthday("birthday is in the future", reason="in_future")
    if today.year - born.year - ((today.month, today.day) < (born.month, born.day)) > MAX_AGE_YEARS:
        raise InvalidBirthday(f"older than {MAX_AGE_YEARS} years", reason="too_old")
    return born


def celebrated_on(birthday: date, year: int) -> date:
    """The day `year`'s birthday is celebrated (29 Feb → 28 Feb in common years)."""
    if birthday.month == 2 and birthday.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, birthday.month, birthday.day)


def days_in_window(today: date, days_before: int) -> list[date]:
    """The birthdays that are due today: today and up to `days_before` days ahead."""
    return [today + timedelta(days=offset) for offset in range(days_before + 1)]


def _month_day_pairs(days: list[date]) -> set[tuple[int, int]]:
    pairs = {(day.month, day.day) for day in days}
    for day in days:
        if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
            pairs.add((2, 29))
    return pairs


def _once_key_for(birthday_day: tuple[int, int], window: list[date]) -> str:
    """Key by the year of the celebration inside the window (it may be next year)."""
    month, day = birthday_day
    for candidate in window:
        if celebrated_on(date(2000, month, day), candidate.year) == candidate:
            return discounts.birthday_once_key(candidate.year)
    raise AssertionError("birthday outside the window")


async def give_birthday_discounts(session: AsyncSession, *, now: datetime, zone: tzinfo) -> int:
    """Issue today's birthday discounts; returns how many were issued now."""
    if not await shop_settings.get(session, "birthday_discount_enabled"):
        return 0
    days_before = await shop_settings.get_int(session, "birthday_days_before")
    window = days_in_window(business_date(now, zone), days_before)
    pairs = _month_day_pairs(window)
    keys = {discounts.birthday_once_key(day.year) for day in window}
    already = exists().where(
        Discount.customer_id == Customer.id, Discount.once_key.in_(sorted(keys))
    )
    query = select(Customer.id, Customer.birth_month, Customer.birth_day).where(
        Customer.status == CustomerStatus.ACTIVE,
        or_(*(and_(Customer.birth_month == m, Customer.birth_day == d) for m, d in pairs)),
    )
    if len(keys) == 1:
        # Skip those already served this year in SQL; across New Year the keys
        # differ per customer and issue_once alone decides.
        query = query.where(~already)
    candidates = await session.execute(query.order_by(Customer.id))
    issued = 0
    actor = Actor.system("birthday")
    for customer_id, month, day in candidates.all():
        assert month is not None and day is not None
        request = discounts.IssueRequest(
            DiscountKind.BIRTHDAY, once_key=_once_key_for((month, day), window)
        )
        if await discounts.issue_once(
            session, customer_id, request, actor=actor, now=now, zone=zone
        ):
            issued += 1
    return issued


class GiftOutcome(StrEnum):
    """What a customer who just gave their birthday can be told; the bot's key is
    `birthday_saved_<value>`."""

    GIVEN_NOW = "given_now"  # inside the window: the gift is `BirthdaySaved.gift`
    LATER = "later"  # the 09:00 run brings it on `will_get_gift_on`
    ALREADY_GIVEN = "already_given"  # this birthday's gift exists (the run beat us to it)
    UNSUBSCRIBED = "unsubscribed"  # no gifts while unsubscribed; /start brings them back
    GIFTS_OFF = "gifts_off"  # the shop gives no birthday gifts at present


@dataclass(frozen=True)
class BirthdaySaved:
    """The birthday is stored; what, if anything, the customer gets for it and when."""

    customer: Customer
    outcome: GiftOutcome
    gift: Discount | None = None
    will_get_gift_on: date | None = None


def next_celebration(birthday: date, today: date) -> date:
    """The first celebration of `birthday` on or after `today`."""
    this_year = celebrated_on(birthday, today.year)
    return this_year if this_year >= today else celebrated_on(birthday, today.year + 1)


async def save_birthday(
    session: AsyncSession, customer_id: int, birthday: date, *, now: datetime, zone: tzinfo
) -> BirthdaySaved:
    """Store the customer's own birthday and give the gift now if its day has come.

    Inside the window the gift is issued in this transaction, keyed like the
    scheduler's ("birthday:YYYY" of the celebration), so the 09:00 run racing
    this call gives the customer exactly one gift between them. Raises
    BirthdayAlreadySet when the date was set before (the customer row is
    locked while we decide).
    """
    customer = await customers.set_own_birthday(session, customer_id, birthday, now=now)
    return await gift_if_due(session, customer, birthday, now=now, zone=zone)


async def gift_if_due(
    session: AsyncSession, customer: Customer, birthday: date, *, now: datetime, zone: tzinfo
) -> BirthdaySaved:
    """The birthday gift now if its window has come and it was not given, else what to promise.

    Called when the date is saved and when an unsubscribed customer comes
    back: they were told /start brings the gifts back, and the 09:00 run has
    passed them by. `customer` is locked by the caller's transaction.
    """
    if customer.status is not CustomerStatus.ACTIVE:
        return BirthdaySaved(customer, GiftOutcome.UNSUBSCRIBED)
    if not await shop_settings.get(session, "birthday_discount_enabled"):
        return BirthdaySaved(customer, GiftOutcome.GIFTS_OFF)
    days_before = await shop_settings.get_int(session, "birthday_days_before")
    today = business_date(now, zone)
    celebration = next_celebration(birthday, today)
    if await _gift_exists(session, customer.id, celebration.year):
        if celebration - timedelta(days=days_before) <= today:
            return BirthdaySaved(customer, GiftOutcome.ALREADY_GIVEN)
        # That year's gift exists already (a date set and cleared by an admin
        # before): the scheduler will skip it, so promise only the next one.
        celebration = celebrated_on(birthday, celebration.year + 1)
    gift_day = celebration - timedelta(days=days_before)
    if gift_day > today:
        return BirthdaySaved(customer, GiftOutcome.LATER, will_get_gift_on=gift_day)
    request = discounts.IssueRequest(
        DiscountKind.BIRTHDAY, once_key=discounts.birthday_once_key(celebration.year)
    )
    gift = await discounts.issue_once(
        session, customer.id, request, actor=Actor.system("birthday"), now=now, zone=zone
    )
    if gift is None:
        return BirthdaySaved(customer, GiftOutcome.ALREADY_GIVEN)
    return BirthdaySaved(customer, GiftOutcome.GIVEN_NOW, gift=gift)


async def _gift_exists(session: AsyncSession, customer_id: int, year: int) -> bool:
    found = await session.scalar(
        select(Discount.id).where(
            Discount.customer_id == customer_id,
            Discount.once_key == discounts.birthday_once_key(year),
        )
    )
    return found is not None
