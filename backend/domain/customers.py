"""Customers: registration from Telegram, subscription, profile changes, tags.

A customer's row is the lock for everything that happens to that customer:
`subscribe` takes it FOR UPDATE before issuing, so parallel /start presses
queue up behind each other instead of racing (SQLite serialises writers
anyway). The unique indexes stay as the last line of defence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.domain import audit, discounts, shop_settings
from backend.domain.audit import Actor
from backend.domain.dialects import fold, folded
from backend.domain.errors import BirthdayAlreadySet, Conflict, NotFound, ValidationFailed
from backend.domain.models import (
    ActorKind,
    Customer,
    CustomerStatus,
    Discount,
    DiscountKind,
    Tag,
    customer_tags,
)

MAX_TAG_LENGTH = 64


@dataclass(frozen=True)
class TelegramProfile:
    """What Telegram tells us about a user on every update."""

    telegram_id: int
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class Subscription:
    customer: Customer
    discount: Discount | None
    is_new_customer: bool
    was_active: bool  # subscribed already before this /start
    first_subscription: bool  # never subscribed before (maybe registered, asked to join)


async def get(
    session: AsyncSession, customer_id: int, *, for_update: bool = False, tags: bool = True
) -> Customer:
    """The customer, with its tags unless `tags` is False (a second SELECT, and on a
    webhook's hot path the selectin loader's statement building is a visible
    share of the CPU per update)."""
    # populate_existing: a locked read must refresh the row we may already hold.
    customer = await session.get(
        Customer,
        customer_id,
        options=[selectinload(Customer.tags)] if tags else [],
        with_for_update=for_update,
        populate_existing=for_update,
    )
    if customer is None:
        raise NotFound(f"customer {customer_id} does not exist", entity="customer")
    return customer


async def find_by_telegram_id(
    session: AsyncSession, telegram_id: int, *, for_update: bool = False
) -> Customer | None:
    """The customer, or None; `for_update` locks the row and refreshes a copy already held."""
    statement = select(Customer).where(Customer.telegram_id == telegram_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    result = await session.scalars(statement)
    return result.first()


async def by_ids(session: AsyncSession, ids: Sequence[int]) -> list[Customer]:
    """The customers among `ids` that exist, in no particular order (one statement)."""
    return list(await session.scalars(select(Customer).where(Customer.id.in_(ids))))


async def tag_names(session: AsyncSession, ids: Sequence[int]) -> list[tuple[int, str]]:
    """(customer id, tag name) for every tag of these customers, by tag name."""
    rows = await session.execute(
        select(customer_tags.c.customer_id, Tag.name)
        .join(Tag, Tag.id == customer_tags.c.tag_id)
        .where(customer_tags.c.customer_id.in_(ids))
        .order_by(Tag.name)
    )
    return [(customer_id, name) for customer_id, name in rows]


async def register(
    session: AsyncSession, profile: TelegramProfile, *, now: datetime, source: str | None = None
) -> tuple[Customer, bool]:
    """Find or create the customer for a Telegram user and refresh what Telegram says.

    Returns the customer and whether it was created now. Safe against a
    parallel register of the same user: the loser of the insert re-reads.
    """
    customer, created = await _found_or_created(session, profile, now=now, source=source)
    _refresh_profile(customer, profile, now=now)
    await session.flush()
    return customer, created


def _refresh_profile(customer: Customer, profile: TelegramProfile, *, now: datetime) -> None:
    """What Telegram says of the user today, and that they were seen now."""
    customer.first_name = profile.first_name[:128]
    customer.last_name = profile.last_name
    customer.username = profile.username
    customer.language = profile.language or customer.language
    customer.last_seen_at = now


async def _found_or_created(
    session: AsyncSession,
    profile: TelegramProfile,
    *,
    now: datetime,
    source: str | None,
    lock: bool = False,
) -> tuple[Customer, bool]:
    """The Telegram user's customer and whether it was created now; `lock`: its row
    locked (one statement for someone we know)."""
    customer = await find_by_telegram_id(session, profile.telegram_id, for_update=lock)
    if customer is not None:
        return customer, False
    customer, created = await _insert_or_reread(session, profile, now=now, source=source)
    if lock and not created:  # a parallel /start inserted it first: lock theirs
        customer = await get(session, customer.id, for_update=True, tags=False)
    return customer, created


async def _insert_or_reread(
    session: AsyncSession, profile: TelegramProfile, *, now: datetime, source: str | None
) -> tuple[Customer, bool]:
    customer = Customer(
        telegram_id=profile.telegram_id,
        first_name=profile.first_name[:128],
        status=CustomerStatus.UNSUBSCRIBED,
        source=source[:64] if source else None,
        created_at=now,
        last_seen_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(customer)
    except IntegrityError:
        existing = await find_by_telegram_id(session, profile.telegram_id)
        if existing is None:
            raise
        return existing, False
    return customer, True


async def subscribe(
    session: AsyncSession, profile: TelegramProfile, *, now: datetime, source: str | None = None
) -> Subscription:
    """/start with consent: the customer becomes active and gets the welcome discount once ever.

    The row is locked by the first read (issue 19: one statement, where finding,
    refreshing and locking took three on every /start), so what it says of the
    customer before this /start is what the result reports.
    """
    customer, created = await _found_or_created(session, profile, now=now, source=source, lock=True)
    was_active = not created and customer.status is CustomerStatus.ACTIVE
    first_subscription = customer.subscribed_at is None
    _refresh_profile(customer, profile, now=now)
    if customer.status is not CustomerStatus.ACTIVE:
        customer.status = CustomerStatus.ACTIVE
        customer.subscribed_at = now
        customer.unsubscribed_at = None
    customer.marketing_consent_at = customer.marketing_consent_at or now
    await session.flush()
    discount = None
    if await shop_settings.get(session, "subscription_discount_enabled"):
        discount = await discounts.issue_once(
            session,
            customer.id,
            discounts.IssueRequest(
                DiscountKind.SUBSCRIPTION, once_key=discounts.SUBSCRIPTION_ONCE_KEY
            ),
            actor=Actor.system("subscription"),
            now=now,
        )
    return Subscription(
        customer=customer,
        discount=discount,
        is_new_customer=created,
        was_active=was_active,
        first_subscription=first_subscription,
    )


async def unsubscribe(session: AsyncSession, customer_id: int, *, now: datetime) -> Customer:
    """The customer asked to stop messages; their discounts stay usable."""
    customer = await get(session, customer_id, for_update=True)
    if customer.status is CustomerStatus.ACTIVE:
        customer.status = CustomerStatus.UNSUBSCRIBED
        customer.unsubscribed_at = now
        customer.marketing_consent_at = None
        await session.flush()
    return customer


async def mark_blocked(session: AsyncSession, customer_id: int, *, now: datetime) -> Customer:
    """Telegram said the customer blocked the bot: stop sending until they come back."""
    customer = await get(session, customer_id, for_update=True)
    if customer.status is not CustomerStatus.BLOCKED:
        customer.status = CustomerStatus.BLOCKED
        customer.unsubscribed_at = now
        await session.flush()
    return customer


async def mark_unblocked(session: AsyncSession, customer_id: int, *, now: datetime) -> Customer:
    """The customer unblocked the bot: they are reachable again (their consent stands)."""
    customer = await get(session, customer_id, for_update=True)
    if customer.status is CustomerStatus.BLOCKED:
        customer.status = CustomerStatus.ACTIVE
        customer.subscribed_at = now
        customer.unsubscribed_at = None
        await session.flush()
    return customer


async def set_own_birthday(
    session: AsyncSession, customer_id: int, birthday: date, *, now: datetime
) -> Customer:
    """The customer tells us their birthday, once; later changes go through an admin."""
    customer = await get(session, customer_id, for_update=True)
    if customer.birthday is not None:
        raise BirthdayAlreadySet("birthday is already set", birthday=customer.birthday)
    customer.birthday = birthday
    await session.flush()
    await audit.record(
        session,
        Actor(ActorKind.CUSTOMER, customer.id, None),
        "customer.birthday",
        "customer",
        customer.id,
        after={"birthday": birthday},
    )
    return customer


@dataclass(frozen=True)
class ProfileChanges:
    """Fields an admin may change; None means "leave as is" (use clear_* to empty)."""

    phone: str | None = None
    birthday: date | None = None
    note: str | None = None
    clear_phone: bool = False
    clear_birthday: bool = False
    clear_note: bool = False


def is_erased(customer: Customer) -> bool:
    """Erased on request (`customer_care.erase`): the Telegram id is a negative placeholder."""
    return customer.telegram_id < 0


async def update_profile(
    session: AsyncSession,
    customer_id: int,
    changes: ProfileChanges,
    *,
    actor: Actor,
    today: date,
) -> Customer:
    customer = await get(session, customer_id, for_update=True)
    if is_erased(customer):  # 152-FZ: what was erased on request stays erased
        raise Conflict("this customer's data was erased", field="customerId")
    before = snapshot(customer)
    if changes.birthday is not None and not date(1900, 1, 1) <= changes.birthday <= today:
        raise ValidationFailed("birthday must be a past date", field="birthday")
    if changes.phone is not None:
        customer.phone = _clean_phone(changes.phone)
    if changes.birthday is not None:
        customer.birthday = changes.birthday
    if changes.note is not None:
        customer.note = changes.note
    if changes.clear_phone:
        customer.phone = None
    if changes.clear_birthday:
        customer.birthday = None
    if changes.clear_note:
        customer.note = None
    await session.flush()
    await audit.record(
        session,
        actor,
        "customer.update",
        "customer",
        customer.id,
        before=before,
        after=snapshot(customer),
    )
    return customer


def _clean_phone(raw: str) -> str:
    digits = "".join(ch for ch in raw if ch.isdigit())
    if not 10 <= len(digits) <= 15:
        raise ValidationFailed("phone must have 10 to 15 digits", field="phone")
    return "+" + digits


def clean_tag(raw: str) -> str:
    name = raw.strip().lower()
    if not name or len(name) > MAX_TAG_LENGTH:
        raise ValidationFailed(f"a tag must be 1 to {MAX_TAG_LENGTH} characters", field="tags")
    return name


async def ensure_tags(session: AsyncSession, names: list[str]) -> list[Tag]:
    """The Tag rows for `names`, creating missing ones (race-safe).

    A name is the tag whose name folds like it (any case, ё as е:
    docs/text-folding.md): «Ёлочка» is the existing tag «елочка».
    """
    wanted = {fold(name): name for name in sorted({clean_tag(name) for name in names})}
    if not wanted:
        return []
    existing = await session.scalars(select(Tag).where(folded(Tag.name).in_(list(wanted))))
    found = {fold(tag.name): tag for tag in existing}
    for key, name in wanted.items():
        if key in found:
            continue
        tag = Tag(name=name)
        try:
            async with session.begin_nested():
                session.add(tag)
        except IntegrityError:
            tag = (await session.scalars(select(Tag).where(folded(Tag.name) == key))).one()
        found[key] = tag
    return [found[key] for key in sorted(wanted)]


async def change_tags(
    session: AsyncSession,
    customer_id: int,
    *,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    actor: Actor,
) -> Customer:
    customer = await get(session, customer_id, for_update=True)
    before = {"tags": customer.tag_names}
    removing = {clean_tag(name) for name in remove}
    current = {tag.name: tag for tag in customer.tags if tag.name not in removing}
    for tag in await ensure_tags(session, list(add)):
        current.setdefault(tag.name, tag)
    customer.tags = [current[name] for name in sorted(current)]
    await session.flush()
    after = {"tags": customer.tag_names}
    if after != before:
        await audit.record(
            session, actor, "customer.tags", "customer", customer.id, before=before, after=after
        )
    return customer


def snapshot(customer: Customer) -> dict[str, Any]:
    return {
        "status": customer.status,
        "phone": customer.phone,
        "birthday": customer.birthday,
        "note": customer.note,
        "tags": customer.tag_names,
    }


async def find(session: AsyncSession, customer_id: int) -> Customer | None:
    """The customer with this id, or None (a task may outlive the customer's row)."""
    return await session.get(Customer, customer_id)


async def first_names(session: AsyncSession, ids: Iterable[int]) -> dict[int, str]:
    """First names by customer id, for the ids that exist."""
    rows = await session.execute(
        select(Customer.id, Customer.first_name).where(Customer.id.in_(sorted(set(ids))))
    )
    return {customer_id: first_name for customer_id, first_name in rows.all()}
