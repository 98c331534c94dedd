"""Customer care: what an admin does for one customer who asked by phone or letter.

Two requests come to the shop outside the bot:

* "stop (or start again) sending me messages": `set_subscription`, audited
  with the reason the admin gives, so a later "I never asked for that" can be
  answered from the audit log.
* "delete my data": `erase`. Russian personal-data law (152-FZ "On personal
  data", art. 14 and 21) gives a person the right to have their personal data
  destroyed when they withdraw consent, and the operator must stop processing
  it; anonymised (обезличенные) data is no longer personal data (art. 3), so
  the shop may keep counting what happened. Erasure therefore anonymises the
  customer row in place instead of deleting it: names, username, phone,
  birthday, language, note, tags and consent are removed, the Telegram id is
  replaced by a placeholder no Telegram user has (`erased_telegram_id`), and
  the audit trail of the customer keeps its actions but loses the values
  (which held the phone, birthday, note), and the messages to them lose their
  text and filled-in values (their name); one not sent yet never will be.
  The row, its creation time and its discounts stay, so every KPI (new
  customers, issued, redeemed, conversion) counts the same before and after;
  the customer's active codes are cancelled, so nobody can use them at the
  till. If the person writes /start
  again, the bot finds no customer with their Telegram id and registers a new
  one: they come back as new, with nothing linking them to the erased row.

Everything happens in the caller's transaction, with the customer's row
locked, so an erasure lands whole or not at all.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CursorResult, and_, null, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import audit, customers, discounts
from backend.domain.audit import Actor
from backend.domain.errors import Conflict, ValidationFailed
from backend.domain.models import (
    ActorKind,
    AuditEntry,
    Customer,
    CustomerStatus,
    Discount,
    DiscountStatus,
)
from backend.domain.models.notifications import CustomerNotification, NotificationStatus

MAX_REASON_LENGTH = 255


def erased_telegram_id(customer_id: int) -> int:
    """The Telegram id an erased customer keeps: unique, and never a real user's.

    Telegram user ids are positive; the column is unique and NOT NULL, so the
    negated row id is a placeholder that cannot collide with anyone (another
    erased customer has another row id) and matches no update a bot receives.
    """
    return -customer_id


def _clean_reason(reason: str) -> str:
    clean = reason.strip()
    if not clean:
        raise ValidationFailed("say why (what the customer asked for)", field="reason")
    if len(clean) > MAX_REASON_LENGTH:
        raise ValidationFailed(
            f"the reason must be at most {MAX_REASON_LENGTH} characters", field="reason"
        )
    return clean


async def set_subscription(
    session: AsyncSession,
    customer_id: int,
    *,
    subscribed: bool,
    reason: str,
    actor: Actor,
    now: datetime,
) -> Customer:
    """Unsubscribe or resubscribe a customer on their request, recording why.

    Resubscribing counts as the customer's consent given to the admin (the
    reason says how), so it is stamped like a /start. A customer who blocked
    the bot cannot be resubscribed (messages would not reach them: they come
    back by unblocking it), nor can an erased one (there is nobody to reach).
    Asking for the state the customer is already in changes nothing and
    records nothing.
    """
    clean = _clean_reason(reason)
    customer = await customers.get(session, customer_id, for_update=True)
    if customers.is_erased(customer):
        raise Conflict("this customer's data was erased", field="customerId")
    wanted = CustomerStatus.ACTIVE if subscribed else CustomerStatus.UNSUBSCRIBED
    if customer.status is wanted:
        return customer
    if subscribed and customer.status is CustomerStatus.BLOCKED:
        raise Conflict(
            "the customer blocked the bot; they are subscribed again when they unblock it",
            field="subscribed",
        )
    before = {"status": customer.status}
    customer.status = wanted
    if subscribed:
        customer.subscribed_at = now
        customer.unsubscribed_at = None
        customer.marketing_consent_at = now
    else:
        customer.unsubscribed_at = now
        customer.marketing_consent_at = None
    await session.flush()
    await audit.record(
        session,
        actor,
        "customer.subscribe" if subscribed else "customer.unsubscribe",
        "customer",
        customer.id,
        before=before,
        after={"status": customer.status, "reason": clean},
    )
    return customer


async def erase(
    session: AsyncSession, customer_id: int, *, reason: str, actor: Actor, now: datetime
) -> tuple[Customer, int]:
    """Anonymise a customer on their request (152-FZ); returns them and the codes cancelled.

    See the module docstring for what is removed and what is kept. The
    `reason` should say how the request came (a letter of 5 May, a call), not
    who made it: it is kept in the audit log, which keeps no personal data of
    the erased customer.
    """
    clean = _clean_reason(reason)
    customer = await customers.get(session, customer_id, for_update=True)
    if customers.is_erased(customer):
        raise Conflict("this customer's data was already erased", field="customerId")
    active = await session.scalars(
        select(Discount.id)
        .where(Discount.customer_id == customer.id, Discount.status == DiscountStatus.ACTIVE)
        .order_by(Discount.id)
    )
    cancelled = 0
    for discount_id in list(active):
        await discounts.cancel(session, discount_id, actor=actor, now=now, reason=None)
        cancelled += 1
    customer.telegram_id = erased_telegram_id(customer.id)
    customer.first_name = ""
    customer.last_name = None
    customer.username = None
    customer.phone = None
    customer.birthday = None
    customer.language = None
    customer.note = None
    customer.tags = []
    customer.marketing_consent_at = None
    if customer.status is not CustomerStatus.UNSUBSCRIBED:
        customer.status = CustomerStatus.UNSUBSCRIBED
        customer.unsubscribed_at = now
    await session.flush()
    await _forget_audit_values(session, customer.id)
    await _forget_messages(session, customer.id)
    await audit.record(
        session,
        actor,
        "customer.erase",
        "customer",
        customer.id,
        after={"reason": clean, "cancelled_codes": cancelled},
    )
    return customer, cancelled


async def _forget_audit_values(session: AsyncSession, customer_id: int) -> int:
    """Keep who did what to the customer and when, drop the values (phone, birthday, note…)."""
    about_customer = and_(
        AuditEntry.entity_type == "customer", AuditEntry.entity_id == str(customer_id)
    )
    by_customer = and_(
        AuditEntry.actor_kind == ActorKind.CUSTOMER, AuditEntry.actor_id == customer_id
    )
    result = await session.execute(
        update(AuditEntry)
        .where(or_(about_customer, by_customer))
        .values(before=null(), after=null())
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount


async def _forget_messages(session: AsyncSession, customer_id: int) -> None:
    """Messages to the customer keep when and whether, not what they said (their name)."""
    mine = CustomerNotification.customer_id == customer_id
    await session.execute(
        update(CustomerNotification)
        .where(mine, CustomerNotification.status == NotificationStatus.PENDING)
        .values(status=NotificationStatus.SKIPPED, reason="customer erased")
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(CustomerNotification)
        .where(mine)
        .values(text=null(), context={})
        .execution_options(synchronize_session=False)
    )
