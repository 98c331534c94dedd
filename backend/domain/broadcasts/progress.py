"""Where a broadcast stands: its deliveries counted, its sending runs' heartbeat, the live message.

While sending, each live run writes `worker_seen_at` every few seconds (its
heartbeat, `record_heartbeat`). A "sending" broadcast not heard of for
`RUN_SILENCE` has no live worker: the workers' sweep queues it again
(`orphaned`), and its progress says so (`ProgressMessage.worker_alive`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypedDict

from sqlalchemy import and_, func, or_, select
from sqlalchemy import update as update_rows
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.errors import NotFound
from backend.domain.models import Broadcast, BroadcastDelivery, BroadcastStatus, DeliveryStatus

# A sending run not heard of for this long is gone (runs write every 2 s; this
# allows for a slow database or a stalled event loop before calling it dead).
RUN_SILENCE = timedelta(seconds=10)


@dataclass(frozen=True)
class BroadcastStats:
    """Where a broadcast stands: its status and its delivery rows counted by status."""

    status: BroadcastStatus
    total: int = 0
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    pending: int = 0
    worker_seen_at: datetime | None = None  # the newest heartbeat of a sending run

    def worker_alive(self, now: datetime) -> bool:
        """A run is sending this broadcast right now: it is "sending" and one was heard lately."""
        return (
            self.status is BroadcastStatus.SENDING
            and self.worker_seen_at is not None
            and self.worker_seen_at >= now - RUN_SILENCE
        )


async def stats(session: AsyncSession, broadcast_id: int) -> BroadcastStats:
    found = await stats_many(session, [broadcast_id])
    if broadcast_id not in found:
        raise NotFound(f"broadcast {broadcast_id} does not exist", entity="broadcast")
    return found[broadcast_id]


async def stats_many(session: AsyncSession, ids: Iterable[int]) -> dict[int, BroadcastStats]:
    """Stats of each existing broadcast among `ids` in one query; unknown ids are left out."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    delivery_status = BroadcastDelivery.status.label("delivery_status")
    rows = await session.execute(
        select(
            Broadcast.id,
            Broadcast.status,
            Broadcast.worker_seen_at,
            delivery_status,
            func.count(BroadcastDelivery.id),
        )
        .outerjoin(BroadcastDelivery, BroadcastDelivery.broadcast_id == Broadcast.id)
        .where(Broadcast.id.in_(wanted))
        .group_by(Broadcast.id, Broadcast.status, Broadcast.worker_seen_at, delivery_status)
    )
    found: dict[int, tuple[BroadcastStatus, datetime | None]] = {}
    counts: dict[int, dict[DeliveryStatus, int]] = {}
    for broadcast_id, status, seen_at, by, count in rows:
        found[broadcast_id] = (status, seen_at)
        if by is not None:
            counts.setdefault(broadcast_id, {})[by] = count
    return {
        broadcast_id: _stats(status, seen_at, counts.get(broadcast_id, {}))
        for broadcast_id, (status, seen_at) in found.items()
    }


def _stats(
    status: BroadcastStatus, seen_at: datetime | None, counts: dict[DeliveryStatus, int]
) -> BroadcastStats:
    return BroadcastStats(
        status=status,
        total=sum(counts.values()),
        sent=counts.get(DeliveryStatus.SENT, 0),
        failed=counts.get(DeliveryStatus.FAILED, 0),
        blocked=counts.get(DeliveryStatus.BLOCKED, 0),
        pending=counts.get(DeliveryStatus.PENDING, 0),
        worker_seen_at=seen_at,
    )


# --- Who is sending: the runs' heartbeat ------------------------------------------------


async def record_heartbeat(session: AsyncSession, broadcast_id: int, *, now: datetime) -> bool:
    """A live run says it is still sending; False once the broadcast is no longer "sending".

    One small UPDATE of the heartbeat alone: `updated_at` stays what the last
    change made it (the sweep reads it, and admins see it).
    """
    result = await session.execute(
        update_rows(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.SENDING)
        .values(worker_seen_at=now, updated_at=Broadcast.updated_at)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


@dataclass(frozen=True)
class Orphan:
    """A "sending" broadcast no live run works on, and the last heartbeat it had (if any)."""

    broadcast_id: int
    worker_seen_at: datetime | None


async def orphaned(session: AsyncSession, *, now: datetime, grace: timedelta) -> list[Orphan]:
    """Broadcasts "sending" that no live run works on: the workers' sweep queues each again.

    Two cases, by what happened last:
    * a run has reported since the last change and then fell silent for
      `RUN_SILENCE`: its worker died (or lost the database) — queue it now;
    * no run has reported since the last change (sent, resumed, handed back):
      its task may still wait in the queue, so only after `grace`.
    """
    silent = or_(Broadcast.worker_seen_at.is_(None), Broadcast.worker_seen_at < now - RUN_SILENCE)
    heard_since_change = and_(
        Broadcast.worker_seen_at.is_not(None), Broadcast.worker_seen_at >= Broadcast.updated_at
    )
    found = await session.execute(
        select(Broadcast.id, Broadcast.worker_seen_at)
        .where(
            Broadcast.status == BroadcastStatus.SENDING,
            silent,
            or_(heard_since_change, Broadcast.updated_at <= now - grace),
        )
        .order_by(Broadcast.id)
    )
    return [Orphan(broadcast_id, seen_at) for broadcast_id, seen_at in found]


@dataclass(frozen=True)
class SendingNow:
    """What operators watch of broadcasts: how many are sending, and the longest silence.

    `longest_silence` is, over the "sending" broadcasts, the time since each was
    last heard of: its newest heartbeat or its last change of state, whichever
    is later (zero when none is sending). Live runs beat every few seconds and
    the workers' sweep queues a broadcast again after `RUN_SILENCE`, so a
    silence of minutes means no worker takes it up at all.
    """

    broadcasts: int
    longest_silence: timedelta


async def sending_now(session: AsyncSession, *, now: datetime) -> SendingNow:
    found = await session.execute(
        select(Broadcast.worker_seen_at, Broadcast.updated_at).where(
            Broadcast.status == BroadcastStatus.SENDING
        )
    )
    heard = [max(seen_at or changed_at, changed_at) for seen_at, changed_at in found]
    silence = max((now - at for at in heard), default=timedelta(0))
    return SendingNow(broadcasts=len(heard), longest_silence=max(silence, timedelta(0)))


# --- Live progress: the message the engine publishes and the API relays -----------------


class ProgressMessage(TypedDict):
    """One message on `broadcast_channel(id)`: where a broadcast stands, complete in itself.

    `status` is a `BroadcastStatus` value ("sending", "completed", ...); the
    counts are delivery rows by status (`total` is all of them); `worker_alive`
    says a live run is sending it right now; `rate` is deliveries per second and
    `eta` seconds to go, when a live engine knows them (never without one).
    """

    broadcast_id: int
    status: str
    total: int
    sent: int
    failed: int
    blocked: int
    pending: int
    worker_alive: bool
    rate: float | None
    eta: float | None


def progress_message(
    broadcast_id: int,
    stats: BroadcastStats,
    *,
    now: datetime,
    rate: float | None = None,
    eta: float | None = None,
) -> ProgressMessage:
    """The message for `stats` read at `now`; a rate needs a live worker, or it is dropped."""
    alive = stats.worker_alive(now)
    return ProgressMessage(
        broadcast_id=broadcast_id,
        status=stats.status.value,
        total=stats.total,
        sent=stats.sent,
        failed=stats.failed,
        blocked=stats.blocked,
        pending=stats.pending,
        worker_alive=alive,
        rate=rate if alive else None,
        eta=eta if alive else None,
    )
