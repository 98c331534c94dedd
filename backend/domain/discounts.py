"""Issuing, looking up, redeeming, cancelling and expiring discounts.

Concurrency is settled by the database, not by luck:

* "At most once" discounts (subscription ever, birthday per year) carry a
  `once_key`; a unique index on (customer_id, once_key) makes a second issue
  fail even when two workers race, and the loser reports `AlreadyIssued`.
* A code is valid through the whole business day it shows: `expires_at` is
  the next midnight in the shop's zone (`clock.valid_through`), exclusive;
  every check reads "usable while now < expires_at", "expired once
  expires_at <= now".
* Redemption is one conditional UPDATE (`... WHERE status='active' AND
  expires_at > now`): of any number of parallel redeemers exactly one matches
  a row; the others re-read the discount to say why they could not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import NoReturn

from sqlalchemy import ColumnElement, CursorResult, Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import audit, shop_settings
from backend.domain.audit import Actor
from backend.domain.clock import shop_zone, valid_through
from backend.domain.codes import Chooser, generate_code, normalize_code
from backend.domain.errors import (
    AlreadyIssued,
    CashierInactive,
    CodeAlreadyRedeemed,
    CodeCancelled,
    CodeExpired,
    CodeNotFound,
    DiscountNotActive,
    NotFound,
    ValidationFailed,
)
from backend.domain.models import (
    ActorKind,
    Cashier,
    Customer,
    Discount,
    DiscountKind,
    DiscountStatus,
)

SUBSCRIPTION_ONCE_KEY = "subscription"
_CODE_ATTEMPTS = 5


@dataclass(frozen=True)
class IssueRequest:
    """What to issue; percent and validity default to the shop settings for the kind."""

    kind: DiscountKind
    percent: int | None = None
    valid_days: int | None = None
    reason: str | None = None
    once_key: str | None = None
    broadcast_id: int | None = None


def birthday_once_key(year: int) -> str:
    return f"birthday:{year}"


async def issue(
    session: AsyncSession,
    customer_id: int,
    request: IssueRequest,
    *,
    actor: Actor,
    now: datetime,
    choose: Chooser | None = None,
    zone: tzinfo | None = None,
) -> Discount:
    """Give one discount to one customer; raises AlreadyIssued for a repeated once_key.

    It lasts `valid_days` whole business days after today in `zone` (the
    shop's TIMEZONE when not given): issued at 10:00 on the 6th for 14 days,
    it is good until the end of the 20th.
    """
    if request.kind is DiscountKind.MANUAL and not (request.reason and request.reason.strip()):
        raise ValidationFailed("a manual discount needs a reason", field="reason")
    if await session.get(Customer, customer_id) is None:
        raise NotFound(f"customer {customer_id} does not exist", entity="customer")
    percent = request.percent or await shop_settings.get_int(
        session, f"discount_percent_{request.kind.value}"
    )
    valid_days = request.valid_days or await shop_settings.get_int(
        session, f"discount_valid_days_{request.kind.value}"
    )
    if not 1 <= percent <= 100:
        raise ValidationFailed("percent must be between 1 and 100", field="percent")
    if not 1 <= valid_days <= 366:
        raise ValidationFailed("validity must be between 1 and 366 days", field="valid_days")
    discount = await _insert_with_fresh_code(
        session,
        customer_id,
        request,
        percent=percent,
        expires_at=valid_through(now, valid_days, zone or shop_zone()),
        actor=actor,
        now=now,
        choose=choose,
    )
    if actor.is_person:
        await audit.record(
            session, actor, "discount.issue", "discount", discount.id, after=snapshot(discount)
        )
    return discount


async def _insert_with_fresh_code(
    session: AsyncSession,
    customer_id: int,
    request: IssueRequest,
    *,
    percent: int,
    expires_at: datetime,
    actor: Actor,
    now: datetime,
    choose: Chooser | None,
) -> Discount:
    """Insert under a savepoint; a clash is either the once_key (stop) or the code (redraw)."""
    for _ in range(_CODE_ATTEMPTS):
        discount = Discount(
            customer_id=customer_id,
            kind=request.kind,
            percent=percent,
            code=generate_code(choose) if choose else generate_code(),
            status=DiscountStatus.ACTIVE,
            once_key=request.once_key,
            issued_at=now,
            expires_at=expires_at,
            issued_by_kind=actor.kind,
            issued_by_admin_id=actor.id if actor.kind is ActorKind.ADMIN else None,
            reason=request.reason,
            broadcast_id=request.broadcast_id,
        )
        try:
            async with session.begin_nested():
                session.add(discount)
        except IntegrityError:
            if request.once_key and await _find_once(session, customer_id, request.once_key):
                raise AlreadyIssued(
                    f"{request.kind.value} discount already issued", once_key=request.once_key
                ) from None
            continue
        return discount
    raise RuntimeError("could not draw a free discount code")


async def _find_once(session: AsyncSession, customer_id: int, once_key: str) -> Discount | None:
    result = await session.scalars(
        select(Discount).where(Discount.customer_id == customer_id, Discount.once_key == once_key)
    )
    return result.first()


async def issue_once(
    session: AsyncSession,
    customer_id: int,
    request: IssueRequest,
    *,
    actor: Actor,
    now: datetime,
    zone: tzinfo | None = None,
) -> Discount | None:
    """Issue unless this once_key was already used for the customer (then None)."""
    assert request.once_key, "issue_once needs a once_key"
    if await _find_once(session, customer_id, request.once_key) is not None:
        return None
    try:
        return await issue(session, customer_id, request, actor=actor, now=now, zone=zone)
    except AlreadyIssued:
        return None


async def find_by_code(session: AsyncSession, raw_code: str) -> Discount:
    """The discount behind what a cashier typed, in any state."""
    code = normalize_code(raw_code)
    discount = None
    if code is not None:
        discount = await session.scalar(select(Discount).where(Discount.code == code))
    if discount is None:
        raise CodeNotFound("no discount has this code")
    return discount


@dataclass(frozen=True)
class Offer:
    """A code as the till sees it: the discount and whose it is (None: customer gone)."""

    discount: Discount
    customer: Customer | None


async def lookup(session: AsyncSession, raw_code: str, *, now: datetime) -> Discount:
    """A code that can be redeemed right now; otherwise the typed reason it cannot."""
    return (await look_up_offer(session, raw_code, now=now)).discount


async def look_up_offer(session: AsyncSession, raw_code: str, *, now: datetime) -> Offer:
    """`lookup` with the customer, in one statement (the till shows their name)."""
    code = normalize_code(raw_code)
    offer = await _offer(session, Discount.code == code) if code is not None else None
    if offer is None:
        raise CodeNotFound("no discount has this code")
    _raise_unless_redeemable(offer.discount, now)
    return offer


async def _offer(session: AsyncSession, match: ColumnElement[bool]) -> Offer | None:
    """The discount matching `match` with its customer, re-read even if already loaded."""
    row = (
        await session.execute(
            select(Discount, Customer)
            .outerjoin(Customer, Customer.id == Discount.customer_id)
            .where(match)
            .execution_options(populate_existing=True)
        )
    ).first()
    return None if row is None else Offer(row[0], row[1])


def _raise_unless_redeemable(discount: Discount, now: datetime) -> None:
    """Why a code cannot be used at `now`; `expires_at` itself is already too late."""
    if discount.status is DiscountStatus.REDEEMED:
        raise CodeAlreadyRedeemed(
            "this code has already been redeemed", redeemed_at=discount.redeemed_at
        )
    if discount.status is DiscountStatus.CANCELLED:
        raise CodeCancelled("this code has been cancelled")
    if discount.status is DiscountStatus.EXPIRED or discount.expires_at <= now:
        raise CodeExpired("this code has expired", expires_at=discount.expires_at)


@dataclass(frozen=True)
class Redemption:
    """A code just redeemed: the discount as stored, whose it was, and who redeemed it."""

    discount: Discount
    customer: Customer | None
    cashier: Cashier


async def redeem(
    session: AsyncSession,
    raw_code: str,
    cashier: Cashier,
    *,
    now: datetime,
    purchase_amount: Decimal | None = None,
) -> Discount:
    """Mark a code used at the till; exactly one of any parallel callers succeeds."""
    if not cashier.is_active:
        raise CashierInactive("this cashier has been deactivated")
    code = normalize_code(raw_code)
    if code is None:
        _check_amount(purchase_amount)
        raise CodeNotFound("no discount has this code")
    redemption = await _redeem(
        session,
        Discount.code == code,
        Cashier.id == cashier.id,
        now=now,
        purchase_amount=purchase_amount,
    )
    return redemption.discount


async def redeem_at_till(
    session: AsyncSession,
    discount_id: int,
    telegram_id: int,
    *,
    now: datetime,
    purchase_amount: Decimal | None = None,
) -> Redemption:
    """`redeem` as the till bot asks: the offered discount by id, the cashier by Telegram.

    The cashier is not read first: the redeeming statement itself checks that
    the account belongs to an active cashier (one round trip less per press).
    Raises NotFound for an account that is no cashier.
    """
    return await _redeem(
        session,
        Discount.id == discount_id,
        Cashier.telegram_id == telegram_id,
        now=now,
        purchase_amount=purchase_amount,
    )


def _check_amount(purchase_amount: Decimal | None) -> None:
    if purchase_amount is not None and purchase_amount < 0:
        raise ValidationFailed("purchase amount cannot be negative", field="purchase_amount")


async def _redeem(
    session: AsyncSession,
    match: ColumnElement[bool],
    redeemer: ColumnElement[bool],
    *,
    now: datetime,
    purchase_amount: Decimal | None,
) -> Redemption:
    """The redemption itself: one conditional UPDATE, one re-read, the audit line.

    `match` picks the discount and `redeemer` the cashier. The UPDATE comes
    first, with nothing read beforehand: it changes the row only if the code
    is active and unexpired and the cashier active; of parallel callers the
    database lets exactly one match, the others wait for its row lock and then
    match nothing. The re-read after it sees our own write (the row stays
    locked until commit), so the audit snapshot and the till's answer show
    what was stored, with the customer and the cashier; for a caller that
    matched nothing it says why.
    """
    _check_amount(purchase_amount)
    cashier_of = select(Cashier).where(redeemer)
    result = await session.execute(
        update(Discount)
        .where(
            match,
            Discount.status == DiscountStatus.ACTIVE,
            Discount.expires_at > now,
            cashier_of.where(Cashier.is_active.is_(True)).exists(),
        )
        .values(
            status=DiscountStatus.REDEEMED,
            redeemed_at=now,
            cashier_id=cashier_of.with_only_columns(Cashier.id).scalar_subquery(),
            store=cashier_of.with_only_columns(Cashier.store).scalar_subquery(),
            purchase_amount=purchase_amount,
        )
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    row = (
        await session.execute(
            select(Discount, Customer, Cashier)
            .outerjoin(Customer, Customer.id == Discount.customer_id)
            .outerjoin(Cashier, Cashier.id == Discount.cashier_id)
            .where(match)
            .execution_options(populate_existing=True)
        )
    ).first()
    if result.rowcount != 1 or row is None or row[2] is None:
        await _refuse(session, cashier_of, row[0] if row is not None else None, now)
    discount, customer, cashier = row  # the cashier recorded on the row: this one
    await audit.record(
        session,
        Actor(ActorKind.CASHIER, cashier.id, cashier.name),
        "discount.redeem",
        "discount",
        discount.id,
        after=snapshot(discount),
    )
    return Redemption(discount, customer, cashier)


async def _refuse(
    session: AsyncSession,
    cashier_of: Select[Cashier],
    discount: Discount | None,
    now: datetime,
) -> NoReturn:
    """Why a redemption matched nothing: no such cashier, an inactive one, or the code."""
    cashier = await session.scalar(cashier_of)
    if cashier is None:
        raise NotFound("no cashier has this Telegram account", entity="cashier")
    if not cashier.is_active:
        raise CashierInactive("this cashier has been deactivated")
    if discount is None:
        raise CodeNotFound("no discount has this code")
    _raise_unless_redeemable(discount, now)
    raise CodeAlreadyRedeemed("this code has already been redeemed")


async def cancel(
    session: AsyncSession, discount_id: int, *, actor: Actor, now: datetime, reason: str | None
) -> Discount:
    """Withdraw an active discount; a used or expired one cannot be cancelled."""
    discount = await session.get(Discount, discount_id, with_for_update=True)
    if discount is None:
        raise NotFound(f"discount {discount_id} does not exist", entity="discount")
    if discount.status is not DiscountStatus.ACTIVE:
        raise DiscountNotActive(f"discount is {discount.status.value}, not active")
    before = snapshot(discount)
    discount.status = DiscountStatus.CANCELLED
    discount.cancelled_at = now
    if reason:
        discount.reason = reason
    await session.flush()
    await audit.record(
        session,
        actor,
        "discount.cancel",
        "discount",
        discount.id,
        before=before,
        after=snapshot(discount),
    )
    return discount


async def expire_due(session: AsyncSession, *, now: datetime) -> int:
    """Mark every active discount past its date as expired; returns how many.

    `expires_at <= now`, the exact complement of the till's `expires_at > now`:
    a code is never both redeemable and expired at the same moment.
    """
    result = await session.execute(
        update(Discount)
        .where(Discount.status == DiscountStatus.ACTIVE, Discount.expires_at <= now)
        .values(status=DiscountStatus.EXPIRED)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


async def active_for_customer(
    session: AsyncSession, customer_id: int, *, now: datetime
) -> list[Discount]:
    """What a customer can use today, soonest to expire first (the personal cabinet)."""
    result = await session.scalars(
        select(Discount)
        .where(
            Discount.customer_id == customer_id,
            Discount.status == DiscountStatus.ACTIVE,
            Discount.expires_at > now,
        )
        .order_by(Discount.expires_at, Discount.id)
    )
    return list(result)


def snapshot(discount: Discount) -> dict[str, object]:
    return {
        "customer_id": discount.customer_id,
        "kind": discount.kind,
        "percent": discount.percent,
        "code": discount.code,
        "status": discount.status,
        "expires_at": discount.expires_at,
        "reason": discount.reason,
        "cashier_id": discount.cashier_id,
        "purchase_amount": discount.purchase_amount,
    }


async def redeemed_by_cashier(
    session: AsyncSession, cashier_id: int, *, start: datetime, end: datetime
) -> list[Discount]:
    """What one cashier redeemed in [start, end), in order (the till's "today")."""
    result = await session.scalars(
        select(Discount)
        .where(
            Discount.cashier_id == cashier_id,
            Discount.redeemed_at >= start,
            Discount.redeemed_at < end,
        )
        .order_by(Discount.redeemed_at, Discount.id)
    )
    return list(result)


async def find_by_id(session: AsyncSession, discount_id: int) -> Discount | None:
    """A discount by its id, or None: for transports that show what an id refers to."""
    return await session.get(Discount, discount_id)
