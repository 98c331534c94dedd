"""Telling one customer something: a discount they were given, or an admin's message.

Why a row per message (`CustomerNotification`) and not a bare task: the row is
written in the transaction that causes it (the discount's insert), so a
rolled-back issue leaves no message and a committed one always has its notice;
its unique `key` (one per discount) is the idempotency record, and a worker
claims it (pending → sending) before the request goes out, so a task delivered
twice sends once. A worker killed between the claim and the answer leaves the
row "sending": in doubt, never sent again (a second code message is worse
than a lost one; the customer still sees the code in «Мои скидки»).

Quiet hours (shop settings `quiet_hours_start`/`quiet_hours_end`, in the
shop's zone) move a discount notice's `not_before` to the morning; an admin's
direct message goes at once. Customers who blocked the bot or unsubscribed
get nothing: a discount notice is recorded as skipped with the reason (and
audited), an admin's message is refused with CUSTOMER_NOT_ACTIVE.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import audit, customers, markup, shop_settings, templates
from backend.domain.audit import Actor
from backend.domain.errors import CustomerNotActive, NotFound, ValidationFailed
from backend.domain.models import (
    Customer,
    CustomerStatus,
    Discount,
    DiscountKind,
    ParseMode,
    Template,
)
from backend.domain.models.notifications import CustomerNotification, NotificationStatus

# The template each kind of discount is announced with when an admin gives it.
TEMPLATE_FOR_KIND: dict[DiscountKind, str] = {
    DiscountKind.MANUAL: "manual_discount",
    DiscountKind.PROMO: "promo_discount",
    DiscountKind.BIRTHDAY: "birthday_discount",
    DiscountKind.SUBSCRIPTION: "welcome_discount",
}
MAX_MESSAGE_LENGTH = 4096  # Telegram's limit for one text message
# Why a customer gets nothing, by their status.
NOT_REACHABLE: dict[CustomerStatus, str] = {
    CustomerStatus.BLOCKED: "blocked",
    CustomerStatus.UNSUBSCRIBED: "unsubscribed",
}


@dataclass(frozen=True)
class QuietHours:
    """The part of the shop's day when no notice goes out; start == end: none."""

    start: time
    end: time

    def first_moment_after(self, moment: datetime, zone: tzinfo) -> datetime:
        """`moment` itself outside quiet hours, else the end of the quiet hours it is in."""
        if self.start == self.end:
            return moment
        local = moment.astimezone(zone)
        clock = local.time().replace(tzinfo=None)
        day = local.date()
        if self.start < self.end:  # e.g. 13:00-14:00, inside one day
            if not self.start <= clock < self.end:
                return moment
        elif clock >= self.start:  # e.g. 22:00-09:00: evening, so until tomorrow's end
            day += timedelta(days=1)
        elif clock >= self.end:  # daytime
            return moment
        return datetime.combine(day, self.end, tzinfo=zone).astimezone(UTC)


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


async def quiet_hours(session: AsyncSession) -> QuietHours:
    start = await shop_settings.get(session, "quiet_hours_start")
    end = await shop_settings.get(session, "quiet_hours_end")
    return QuietHours(_clock(str(start)), _clock(str(end)))


def discount_key(discount_id: int) -> str:
    return f"discount:{discount_id}"


@dataclass(frozen=True)
class NoticePlan:
    """What became of the notices of discounts given together (an issue, a bulk issue)."""

    queued: list[int]  # notification ids to send now
    held: list[int]  # notification ids waiting for the end of quiet hours
    skipped: dict[str, int]  # reason → how many customers get nothing


async def plan_discount_notice(
    session: AsyncSession,
    discount: Discount,
    *,
    actor: Actor,
    now: datetime,
    zone: tzinfo,
    quiet: QuietHours | None = None,
) -> CustomerNotification:
    """The notice of a discount just issued, in the issue's transaction; at most one per discount.

    Skipped (with the reason, audited) for a customer who blocked the bot or
    unsubscribed; held until the end of quiet hours when given at night.
    """
    key = discount_key(discount.id)
    existing = await session.scalar(
        select(CustomerNotification).where(CustomerNotification.key == key)
    )
    if existing is not None:
        return existing
    customer = await customers.get(session, discount.customer_id)
    quiet = quiet or await quiet_hours(session)
    row = CustomerNotification(
        key=key,
        customer_id=customer.id,
        discount_id=discount.id,
        template_key=TEMPLATE_FOR_KIND[discount.kind],
        parse_mode=ParseMode.PLAIN,
        context={
            "first_name": customer.first_name,
            "percent": discount.percent,
            "code": discount.code,
            "expires_at": discount.expires_at.isoformat(),
        },
        status=NotificationStatus.PENDING,
        not_before=quiet.first_moment_after(now, zone),
        created_at=now,
    )
    reason = NOT_REACHABLE.get(customer.status)
    if reason is not None:
        row.status = NotificationStatus.SKIPPED
        row.reason = reason
    session.add(row)
    await session.flush()
    if reason is not None:
        await audit.record(
            session,
            actor,
            "notification.skipped",
            "customer",
            customer.id,
            after={"discount_id": discount.id, "reason": reason},
        )
    return row


async def plan_discount_notices(
    session: AsyncSession,
    issued: Sequence[Discount],
    *,
    actor: Actor,
    now: datetime,
    zone: tzinfo,
) -> NoticePlan:
    """`plan_discount_notice` for each discount, with one summary of what will happen."""
    quiet = await quiet_hours(session)
    queued: list[int] = []
    held: list[int] = []
    skipped: dict[str, int] = {}
    for discount in issued:
        row = await plan_discount_notice(
            session, discount, actor=actor, now=now, zone=zone, quiet=quiet
        )
        if row.status is NotificationStatus.SKIPPED:
            skipped[row.reason or "unknown"] = skipped.get(row.reason or "unknown", 0) + 1
        elif row.status is NotificationStatus.PENDING:
            (queued if row.not_before <= now else held).append(row.id)
    return NoticePlan(queued, held, skipped)


async def plan_message(
    session: AsyncSession,
    customer_id: int,
    *,
    template_key: str | None,
    text: str | None,
    parse_mode: ParseMode,
    actor: Actor,
    now: datetime,
) -> CustomerNotification:
    """An admin's message to one customer, to go at once (no quiet hours), audited.

    Exactly one of a template (filled with the customer's first name) or a
    text whose markup Telegram would accept. A customer who blocked the bot
    or unsubscribed is refused: CustomerNotActive.
    """
    await _check_message(session, template_key, text, parse_mode)
    customer = await _reachable_customer(session, customer_id)
    row = CustomerNotification(
        key=f"message:{uuid.uuid4().hex}",
        customer_id=customer.id,
        template_key=template_key,
        text=text,
        parse_mode=parse_mode if text is not None else ParseMode.PLAIN,
        context={"first_name": customer.first_name},
        status=NotificationStatus.PENDING,
        not_before=now,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor,
        "customer.message",
        "customer",
        customer.id,
        after={
            "notification_id": row.id,
            "template_key": template_key,
            "text": text,
            "parse_mode": row.parse_mode.value,
        },
    )
    return row


async def _check_message(
    session: AsyncSession, template_key: str | None, text: str | None, parse_mode: ParseMode
) -> None:
    """Exactly one of a template that exists and a text Telegram would accept, else refused."""
    if (template_key is None) == (text is None):
        raise ValidationFailed("give exactly one of templateKey and text", field="templateKey")
    if text is not None:
        _check_text(text, parse_mode)
    elif template_key not in templates.defaults() and (
        await session.scalar(select(Template.id).where(Template.key == template_key)) is None
    ):
        raise NotFound(f"template {template_key!r} does not exist", entity="template")


def _check_text(text: str, parse_mode: ParseMode) -> None:
    """Not blank, within Telegram's length for one message, and its markup accepted."""
    if not text.strip():
        raise ValidationFailed("the message is empty", field="text")
    if len(text) > MAX_MESSAGE_LENGTH:
        raise ValidationFailed(
            f"a message holds at most {MAX_MESSAGE_LENGTH} characters, not {len(text)}",
            field="text",
        )
    markup.validate(text, parse_mode)


async def _reachable_customer(session: AsyncSession, customer_id: int) -> Customer:
    """The customer, unless they blocked the bot or unsubscribed (CustomerNotActive)."""
    customer = await customers.get(session, customer_id)
    reason = NOT_REACHABLE.get(customer.status)
    if reason is not None:
        raise CustomerNotActive(
            f"customer {customer_id} {reason} the bot: no message can be sent",
            customer_id=customer_id,
            status=customer.status.value,
        )
    return customer


# --- the worker's side -----------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """A claimed notification, as the sender needs it (read inside the claim's transaction)."""

    id: int
    customer_id: int
    chat_id: int
    template_key: str | None
    text: str | None
    parse_mode: ParseMode
    context: dict[str, Any]
    qr_code: str | None  # the discount's code, sent as a QR picture with the text


async def claim(session: AsyncSession, notification_id: int, *, now: datetime) -> Outgoing | str:
    """Take a due pending notification for sending, once; else why not.

    "missing", "held" (quiet hours: not yet), "done" (sent, in doubt, or
    settled by another run) or "skipped" (the customer blocked the bot or
    unsubscribed since it was planned: recorded so).
    """
    taken = await session.execute(
        update(CustomerNotification)
        .where(
            CustomerNotification.id == notification_id,
            CustomerNotification.status == NotificationStatus.PENDING,
            CustomerNotification.not_before <= now,
        )
        .values(status=NotificationStatus.SENDING, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    row = await session.get(CustomerNotification, notification_id, populate_existing=True)
    if row is None:
        return "missing"
    if getattr(taken, "rowcount", 0) != 1:
        return "held" if row.status is NotificationStatus.PENDING else "done"
    customer = await session.get(Customer, row.customer_id)
    if customer is None:
        return "missing"
    reason = NOT_REACHABLE.get(customer.status)
    if reason is not None:
        row.status, row.reason = NotificationStatus.SKIPPED, reason
        await session.flush()
        return "skipped"
    return Outgoing(
        row.id,
        customer.id,
        customer.telegram_id,
        row.template_key,
        row.text,
        row.parse_mode,
        dict(row.context),
        str(row.context["code"]) if row.discount_id is not None else None,
    )


async def record_outcome(
    session: AsyncSession,
    notification_id: int,
    status: NotificationStatus,
    *,
    now: datetime,
    reason: str | None = None,
    message_id: int | None = None,
) -> None:
    row = await session.get(CustomerNotification, notification_id)
    if row is None:
        return
    row.status = status
    row.reason = reason[:255] if reason else None
    row.message_id = message_id
    if status is NotificationStatus.SENT:
        row.sent_at = now
    await session.flush()


async def due(session: AsyncSession, *, now: datetime, limit: int = 1000) -> list[int]:
    """Pending notifications whose moment has come, oldest first (the sweep sends them)."""
    rows = await session.scalars(
        select(CustomerNotification.id)
        .where(
            CustomerNotification.status == NotificationStatus.PENDING,
            CustomerNotification.not_before <= now,
        )
        .order_by(CustomerNotification.not_before, CustomerNotification.id)
        .limit(limit)
    )
    return list(rows)


async def for_discount(session: AsyncSession, discount_id: int) -> CustomerNotification | None:
    return await session.scalar(
        select(CustomerNotification).where(CustomerNotification.discount_id == discount_id)
    )
