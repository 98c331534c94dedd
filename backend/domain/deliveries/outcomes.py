"""Recording what became of a delivery: sent, blocked, failed, ambiguous, or handed back.

Every write is a conditional UPDATE on a row still pending (a result recorded
meanwhile by someone else wins), and the engine records its results in
batches (`record_outcomes`: every message Telegram accepted in one UPDATE).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import BigInteger, ColumnElement, CursorResult, literal_column, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import customers
from backend.domain.audit import Actor
from backend.domain.deliveries.markers import AMBIGUOUS, AMBIGUOUS_ROW, RELEASED
from backend.domain.models import BroadcastDelivery, DeliveryStatus

ENGINE_ACTOR = Actor.system("broadcast-engine")
_ERROR_LENGTH = 255
_D = BroadcastDelivery

OutcomeKind = Literal["sent", "blocked", "failed", "ambiguous", "released"]


@dataclass(frozen=True)
class Outcome:
    """What became of one claim, to record in a batch with `record_outcomes`."""

    delivery_id: int
    kind: OutcomeKind
    message_id: int | None = None
    reason: str | None = None


def _clip(text: str) -> str:
    return text if len(text) <= _ERROR_LENGTH else text[: _ERROR_LENGTH - 1] + "…"


def rowcount(result: Any) -> int:
    """Rows an UPDATE changed."""
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def changed(result: Any) -> bool:
    return rowcount(result) > 0


async def finish_row(
    session: AsyncSession,
    delivery_id: int,
    status: DeliveryStatus,
    reason: str | None,
    *,
    lease: str | None = None,
) -> bool:
    """Give a pending row its final `status` (with `lease`: only if it still carries it)."""
    query = update(_D).where(_D.id == delivery_id, _D.status == DeliveryStatus.PENDING)
    if lease is not None:
        query = query.where(_D.last_error == lease)
    result = await session.execute(
        query.values(status=status, last_error=_clip(reason) if reason else None).execution_options(
            synchronize_session=False
        )
    )
    return changed(result)


async def mark_sent(session: AsyncSession, message_ids: Mapping[int, int], *, now: datetime) -> int:
    """Telegram accepted these messages (delivery id → message id), in one UPDATE.

    Also upgrades an ambiguous row: it was sent after all. Returns rows changed.
    """
    if not message_ids:
        return 0
    result = await session.execute(
        update(_D)
        .where(
            _D.id.in_(list(message_ids)),
            or_(_D.status == DeliveryStatus.PENDING, AMBIGUOUS_ROW),
        )
        .values(
            status=DeliveryStatus.SENT,
            telegram_message_id=_message_ids(message_ids),
            sent_at=now,
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


def _message_ids(message_ids: Mapping[int, int]) -> ColumnElement[int]:
    """`CASE id WHEN <delivery> THEN <message> … END`, the integers written inline.

    `case(mapping)` makes two bound parameters per message, each built,
    coerced and keyed for the statement cache, and the statement differs in
    size every batch anyway: at a thousand messages a second that was a
    tenth of the worker's CPU. `int()` keeps anything but numbers out.
    """
    whens = " ".join(f"WHEN {int(d)} THEN {int(m)}" for d, m in message_ids.items())
    return literal_column(f"CASE {_D.__tablename__}.id {whens} END", BigInteger)


async def mark_blocked(
    session: AsyncSession,
    delivery_id: int,
    *,
    now: datetime,
    reason: str = "bot was blocked by the user",
) -> bool:
    """Telegram said 403: the delivery is blocked and so is the customer."""
    customer_id = await session.scalar(select(_D.customer_id).where(_D.id == delivery_id))
    if customer_id is None or not await finish_row(
        session, delivery_id, DeliveryStatus.BLOCKED, reason
    ):
        return False
    await customers.mark_blocked(session, customer_id, now=now)
    return True


async def mark_failed(session: AsyncSession, delivery_id: int, *, reason: str) -> bool:
    """Telegram refused for good ("chat not found", retries used up, ...)."""
    return await finish_row(session, delivery_id, DeliveryStatus.FAILED, reason)


async def mark_ambiguous(session: AsyncSession, delivery_id: int, *, reason: str) -> bool:
    """The outcome is unknown: failed, never retried, counted by `count_ambiguous`."""
    return await finish_row(session, delivery_id, DeliveryStatus.FAILED, AMBIGUOUS + reason)


async def release_for_retry(
    session: AsyncSession, delivery_id: int, *, reason: str, lease: str | None = None
) -> bool:
    """Nothing was sent: drop the lease so the row is pending for any worker again.

    With `lease`, only if this worker still holds it (a row whose lease expired
    was already settled as ambiguous and stays so).
    """
    query = update(_D).where(_D.id == delivery_id, _D.status == DeliveryStatus.PENDING)
    query = query.where(_D.last_error == lease) if lease is not None else query
    result = await session.execute(
        query.values(last_error=_clip(RELEASED + reason)).execution_options(
            synchronize_session=False
        )
    )
    return changed(result)


async def record_outcomes(
    session: AsyncSession, outcomes: Sequence[Outcome], *, now: datetime
) -> None:
    """Record a batch of results in the caller's transaction (all sends in one UPDATE)."""
    sent = {
        o.delivery_id: o.message_id
        for o in outcomes
        if o.kind == "sent" and o.message_id is not None
    }
    await mark_sent(session, sent, now=now)
    for outcome in outcomes:
        reason = outcome.reason or ""
        if outcome.kind == "sent":
            continue
        if outcome.kind == "blocked":
            await mark_blocked(session, outcome.delivery_id, now=now, reason=reason or "blocked")
        elif outcome.kind == "failed":
            await mark_failed(session, outcome.delivery_id, reason=reason)
        elif outcome.kind == "ambiguous":
            await mark_ambiguous(session, outcome.delivery_id, reason=reason)
        else:
            await release_for_retry(session, outcome.delivery_id, reason=reason)
