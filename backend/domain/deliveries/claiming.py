"""Claiming: a worker leases pending rows, and gets each one's message ready to send.

In one transaction `claim_batch` picks pending rows nobody holds, writes its
lease on them (a conditional UPDATE, so of two racing workers each row goes
to one), settles the rows of customers no longer reachable, issues the promo
codes of the rest (once per customer and broadcast) and renders their texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import discounts
from backend.domain.deliveries.markers import NOT_HELD, lease_marker
from backend.domain.deliveries.outcomes import ENGINE_ACTOR, finish_row
from backend.domain.deliveries.rendering import RECIPIENT_COLUMNS, Recipient, render_for
from backend.domain.errors import AlreadyIssued
from backend.domain.models import (
    Broadcast,
    BroadcastDelivery,
    BroadcastStatus,
    Customer,
    CustomerStatus,
    DeliveryStatus,
    Discount,
    DiscountKind,
    ParseMode,
)

_D = BroadcastDelivery


@dataclass(frozen=True)
class Claim:
    """One delivery a worker holds the lease of: send `text` to `chat_id` now."""

    delivery_id: int
    broadcast_id: int
    customer_id: int
    chat_id: int
    attempt: int  # the row's `attempts` after this claim (1 on the first try)
    text: str
    parse_mode: ParseMode
    lease: str  # the claim's marker in last_error; `start_sending` checks it is still there


class _Leased(NamedTuple):
    """A row this claim leased, with what its send needs of the customer."""

    delivery_id: int
    attempts: int
    recipient: Recipient


async def claim_batch(
    session: AsyncSession,
    broadcast_id: int,
    *,
    limit: int,
    worker_id: str,
    now: datetime,
    lease: timedelta,
    zone: tzinfo = UTC,
) -> list[Claim]:
    """Up to `limit` pending deliveries, leased to this worker and rendered, by id.

    Only while the broadcast is "sending": after a pause or cancel commits, no
    further rows are claimed. Rows of customers who blocked the bot or
    unsubscribed since the audience was fixed are settled here, not sent.
    Commit before sending: the claim is the write-ahead mark of the protocol.
    """
    if limit < 1:
        return []
    broadcast = await session.get(Broadcast, broadcast_id, populate_existing=True)
    if broadcast is None or broadcast.status is not BroadcastStatus.SENDING:
        return []
    candidates = await _candidates(session, broadcast_id, limit)
    if not candidates:
        return []
    marker = lease_marker(worker_id, now + lease)
    rows = await _lease(session, candidates, marker)
    live = await _settle_unreachable(session, rows)
    promos = await _promos(session, broadcast, [row.recipient.id for row in live], now=now)
    return [_claim(broadcast, row, promos.get(row.recipient.id), marker, zone) for row in live]


async def _candidates(session: AsyncSession, broadcast_id: int, limit: int) -> list[int]:
    """The first `limit` pending rows nobody holds, by id."""
    return list(
        await session.scalars(
            select(_D.id)
            .where(
                _D.broadcast_id == broadcast_id,
                _D.status == DeliveryStatus.PENDING,
                NOT_HELD,
            )
            .order_by(_D.id)
            .limit(limit)
        )
    )


async def _lease(session: AsyncSession, candidates: list[int], marker: str) -> list[_Leased]:
    """Write `marker` on the candidates still free; the rows that carry it now, by id."""
    await session.execute(
        update(_D)
        .where(_D.id.in_(candidates), _D.status == DeliveryStatus.PENDING, NOT_HELD)
        .values(attempts=_D.attempts + 1, last_error=marker)
        .execution_options(synchronize_session=False)
    )
    found = await session.execute(
        select(_D.id, _D.attempts, *RECIPIENT_COLUMNS)
        .join(Customer, Customer.id == _D.customer_id)
        .where(_D.id.in_(candidates), _D.last_error == marker)
        .order_by(_D.id)
    )
    return [_Leased(row[0], row[1], Recipient(*row[2:])) for row in found]


def _reachable(customer: Recipient) -> bool:
    return customer.status is CustomerStatus.ACTIVE


async def _settle_unreachable(session: AsyncSession, rows: list[_Leased]) -> list[_Leased]:
    """Finish the rows of customers who blocked the bot or left; the others, to send."""
    for row in rows:
        if not _reachable(row.recipient):
            await _settle(session, row.delivery_id, row.recipient)
    return [row for row in rows if _reachable(row.recipient)]


async def _settle(session: AsyncSession, delivery_id: int, customer: Recipient) -> None:
    if customer.status is CustomerStatus.BLOCKED:
        await finish_row(
            session, delivery_id, DeliveryStatus.BLOCKED, "customer had blocked the bot"
        )
    else:
        reason = f"customer became {customer.status.value} before sending"
        await finish_row(session, delivery_id, DeliveryStatus.FAILED, reason)


def _claim(
    broadcast: Broadcast, row: _Leased, promo: Discount | None, marker: str, zone: tzinfo
) -> Claim:
    return Claim(
        delivery_id=row.delivery_id,
        broadcast_id=broadcast.id,
        customer_id=row.recipient.id,
        chat_id=row.recipient.telegram_id,
        attempt=row.attempts,
        text=render_for(
            broadcast.text, row.recipient, promo, parse_mode=broadcast.parse_mode, zone=zone
        ),
        parse_mode=broadcast.parse_mode,
        lease=marker,
    )


async def _promos(
    session: AsyncSession, broadcast: Broadcast, customer_ids: Sequence[int], *, now: datetime
) -> dict[int, Discount]:
    """Each recipient's promo discount for this broadcast, issued on first claim only."""
    if broadcast.promo_percent is None or not customer_ids:
        return {}
    once_key = promo_once_key(broadcast.id)
    found = {
        discount.customer_id: discount
        for discount in await session.scalars(
            select(Discount).where(
                Discount.customer_id.in_(customer_ids),
                Discount.once_key == once_key,
            )
        )
    }
    request = discounts.IssueRequest(
        DiscountKind.PROMO,
        percent=broadcast.promo_percent,
        once_key=once_key,
        broadcast_id=broadcast.id,
    )
    for customer_id in customer_ids:
        if customer_id in found:
            continue
        try:
            found[customer_id] = await discounts.issue(
                session, customer_id, request, actor=ENGINE_ACTOR, now=now
            )
        except AlreadyIssued:  # issued in parallel by another worker: use theirs
            again = await session.scalar(
                select(Discount).where(
                    Discount.customer_id == customer_id, Discount.once_key == once_key
                )
            )
            assert again is not None
            found[customer_id] = again
    return found


def promo_once_key(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}"
