"""How a broadcast's sending ends: lost runs' rows settled, the broadcast finished once.

A run obeys the broadcast's status (`sending_status`: a pause or cancel stops
it), settles the rows a dead worker left once their lease ran out
(`expire_leases`: never resending one that may have gone out), and the one
run that finds nothing pending ends the broadcast (`finish_if_done`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import audit
from backend.domain.deliveries.markers import (
    AMBIGUOUS,
    AMBIGUOUS_ROW,
    CLAIMED,
    HELD,
    WORKER_LOST,
    WORKER_LOST_BEFORE,
    lease_deadline,
)
from backend.domain.deliveries.outcomes import (
    ENGINE_ACTOR,
    changed,
    finish_row,
    release_for_retry,
)
from backend.domain.models import Broadcast, BroadcastDelivery, BroadcastStatus, DeliveryStatus

_D = BroadcastDelivery


async def sending_status(session: AsyncSession, broadcast_id: int) -> BroadcastStatus:
    """The status a run obeys: it sends while "sending"; a deleted broadcast is cancelled."""
    status = await session.scalar(select(Broadcast.status).where(Broadcast.id == broadcast_id))
    return status or BroadcastStatus.CANCELLED  # deleted: nothing left to send


@dataclass(frozen=True)
class Expired:
    """What `expire_leases` did with the rows of workers that went away."""

    released: int  # only claimed: certainly unsent, pending again
    ambiguous: int  # started: maybe sent, never resent


async def expire_leases(session: AsyncSession, broadcast_id: int, *, now: datetime) -> Expired:
    """Settle rows whose lease ran out (their worker died): see the protocol.

    Held rows are few (what workers are sending right now), so their markers
    are read and compared in Python; each UPDATE is conditional on the marker
    so a result recorded meanwhile wins.
    """
    held = (
        await session.execute(
            select(_D.id, _D.last_error).where(
                _D.broadcast_id == broadcast_id, _D.status == DeliveryStatus.PENDING, HELD
            )
        )
    ).all()
    released = ambiguous = 0
    for delivery_id, marker in held:
        deadline = lease_deadline(marker)
        if marker is None or deadline is None or deadline > now:
            continue
        if marker.startswith(CLAIMED):
            released += await release_for_retry(
                session, delivery_id, reason=WORKER_LOST_BEFORE, lease=marker
            )
        else:
            ambiguous += await finish_row(
                session, delivery_id, DeliveryStatus.FAILED, AMBIGUOUS + WORKER_LOST, lease=marker
            )
    return Expired(released=released, ambiguous=ambiguous)


async def count_ambiguous(session: AsyncSession, broadcast_id: int) -> int:
    count = await session.scalar(
        select(func.count(_D.id)).where(_D.broadcast_id == broadcast_id, AMBIGUOUS_ROW)
    )
    return count or 0


async def finish_if_done(
    session: AsyncSession, broadcast_id: int, *, now: datetime
) -> BroadcastStatus | None:
    """End a "sending" broadcast with no pending rows: its final status for the one caller that did.

    "failed" when it has rows and none was sent, "completed" otherwise (see
    the protocol); None when it is not done, or someone else ended it.
    """
    rows = _D.broadcast_id == broadcast_id
    pending = exists().where(rows, _D.status == DeliveryStatus.PENDING)
    delivered = exists().where(rows, _D.status == DeliveryStatus.SENT)
    done = (Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.SENDING, ~pending)
    for final, condition in (
        (BroadcastStatus.FAILED, [exists().where(rows), ~delivered]),
        (BroadcastStatus.COMPLETED, []),
    ):
        result = await session.execute(
            update(Broadcast)
            .where(*done, *condition)
            .values(status=final, finished_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if changed(result):
            await audit.record(
                session,
                ENGINE_ACTOR,
                "broadcast.complete" if final is BroadcastStatus.COMPLETED else "broadcast.fail",
                "broadcast",
                broadcast_id,
                before={"status": BroadcastStatus.SENDING},
                after={"status": final, "finished_at": now},
            )
            return final
    return None
