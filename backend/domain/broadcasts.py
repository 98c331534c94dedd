"""Broadcasts: a marketer's message to many customers and the states it goes through.

    draft ──schedule──▶ scheduled ──send_now / scheduler──▶ sending ──engine──▶ completed
      │  ◀─(re)schedule──┘ │                               ▲    │
      └──────send_now──────┼───────────────────────────────┘  pause/resume ⇄ paused
                           ▼
    draft, scheduled, sending, paused ──cancel──▶ cancelled        (engine: ──▶ failed)

This module is the state machine and the admin-facing operations; the engine
that creates and works through the `BroadcastDelivery` rows lives in
`backend.workers.sending` (its ledger in `backend.domain.deliveries`). The
engine ends a broadcast "completed" when at least one message was sent, and
"failed" when every row ended without a message (see `deliveries.finish_if_done`).

While sending, each live run writes `worker_seen_at` every few seconds (its
heartbeat, `record_heartbeat`). A "sending" broadcast not heard of for
`RUN_SILENCE` has no live worker: the workers' sweep queues it again
(`orphaned`), and its progress says so (`ProgressMessage.worker_alive`).

Every state change reads the broadcast FOR UPDATE (and refreshes it), so a
marketer's pause and the engine's progress queue up behind each other instead of
overwriting each other. An action that is not allowed in the current state is an
`InvalidState` naming that state, and changes nothing.

The audience is fixed when sending starts: `rules_snapshot` holds the segment's
rules at that moment (always narrowed to active customers), so editing or
deleting the segment mid-send cannot change who gets the message.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy import update as update_rows
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import audit, segments
from backend.domain.audit import Actor
from backend.domain.errors import InvalidState, InvalidTemplate, NotFound, ValidationFailed
from backend.domain.models import (
    ActorKind,
    Broadcast,
    BroadcastDelivery,
    BroadcastStatus,
    CustomerStatus,
    DeliveryStatus,
    ParseMode,
)
from backend.domain.templates import check_markup, placeholders_in

MAX_TITLE_LENGTH = 200
MAX_TEXT_LENGTH = 4096  # Telegram's limit for one message
MAX_SCHEDULE_AHEAD = timedelta(days=365)
# A sending run not heard of for this long is gone (runs write every 2 s; this
# allows for a slow database or a stalled event loop before calling it dead).
RUN_SILENCE = timedelta(seconds=10)
PLACEHOLDERS = frozenset({"first_name", "last_name", "code", "percent", "expires_on"})
# These fill in from the promo discount each recipient gets, so they need a percent.
PROMO_PLACEHOLDERS = frozenset({"code", "percent", "expires_on"})

_EDITABLE = frozenset({BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED})
_CANCELLABLE = frozenset(
    {
        BroadcastStatus.DRAFT,
        BroadcastStatus.SCHEDULED,
        BroadcastStatus.SENDING,
        BroadcastStatus.PAUSED,
    }
)


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


async def get(session: AsyncSession, broadcast_id: int, *, for_update: bool = False) -> Broadcast:
    # populate_existing: a locked read must refresh the row we may already hold.
    broadcast = await session.get(
        Broadcast, broadcast_id, with_for_update=for_update, populate_existing=for_update
    )
    if broadcast is None:
        raise NotFound(f"broadcast {broadcast_id} does not exist", entity="broadcast")
    return broadcast


async def by_ids(session: AsyncSession, ids: Iterable[int]) -> list[Broadcast]:
    """The broadcasts among `ids` that exist, in no particular order (one statement)."""
    return list(await session.scalars(select(Broadcast).where(Broadcast.id.in_(list(ids)))))


def listing(statuses: Collection[BroadcastStatus] | None = None) -> Select[Broadcast]:
    """Every broadcast, or those in one of `statuses` (the API pages it newest first)."""
    query = select(Broadcast)
    if statuses:
        query = query.where(Broadcast.status.in_(statuses))
    return query


def delivery_listing(
    broadcast_id: int, status: DeliveryStatus | None = None
) -> Select[BroadcastDelivery]:
    """A broadcast's delivery rows, or those in `status` (the API pages them in order)."""
    query = select(BroadcastDelivery).where(BroadcastDelivery.broadcast_id == broadcast_id)
    if status is not None:
        query = query.where(BroadcastDelivery.status == status)
    return query


async def create(
    session: AsyncSession,
    *,
    title: str,
    text: str,
    parse_mode: ParseMode = ParseMode.PLAIN,
    segment_id: int | None = None,
    promo_percent: int | None = None,
    actor: Actor,
) -> Broadcast:
    """A new draft; `segment_id` None means every active customer."""
    clean_title = _check_content(title, text, promo_percent)
    check_markup(text, parse_mode)
    if segment_id is not None:
        await segments.get(session, segment_id)
    broadcast = Broadcast(
        title=clean_title,
        text=text,
        parse_mode=parse_mode,
        segment_id=segment_id,
        promo_percent=promo_percent,
        status=BroadcastStatus.DRAFT,
        created_by_admin_id=actor.id if actor.kind is ActorKind.ADMIN else None,
    )
    session.add(broadcast)
    await session.flush()
    await audit.record(
        session, actor, "broadcast.create", "broadcast", broadcast.id, after=snapshot(broadcast)
    )
    return broadcast


async def update(
    session: AsyncSession,
    broadcast_id: int,
    *,
    actor: Actor,
    title: str | None = None,
    text: str | None = None,
    parse_mode: ParseMode | None = None,
    segment_id: int | None = None,
    clear_segment: bool = False,
    promo_percent: int | None = None,
    clear_promo_percent: bool = False,
) -> Broadcast:
    """Change what is given (None leaves a field as is; clear_* empties it).

    Only a draft or a scheduled broadcast can be edited; the result is checked
    as a whole (e.g. clearing the percent of a text that uses {code} is refused).
    A call that changes nothing leaves no audit line.
    """
    if segment_id is not None and clear_segment:
        raise ValidationFailed("give segment_id or clear_segment, not both", field="segment_id")
    if promo_percent is not None and clear_promo_percent:
        raise ValidationFailed(
            "give promo_percent or clear_promo_percent, not both", field="promo_percent"
        )
    broadcast = await _locked_in(session, broadcast_id, _EDITABLE, "edit")
    new_text = broadcast.text if text is None else text
    new_percent = broadcast.promo_percent if promo_percent is None else promo_percent
    if clear_promo_percent:
        new_percent = None
    new_title = _check_content(broadcast.title if title is None else title, new_text, new_percent)
    check_markup(new_text, broadcast.parse_mode if parse_mode is None else parse_mode)
    if segment_id is not None:
        await segments.get(session, segment_id)
    before = snapshot(broadcast)
    broadcast.title = new_title
    broadcast.text = new_text
    broadcast.promo_percent = new_percent
    if parse_mode is not None:
        broadcast.parse_mode = parse_mode
    if segment_id is not None or clear_segment:
        broadcast.segment_id = segment_id
    await session.flush()
    if snapshot(broadcast) != before:
        await audit.record(
            session,
            actor,
            "broadcast.update",
            "broadcast",
            broadcast.id,
            before=before,
            after=snapshot(broadcast),
        )
    return broadcast


async def schedule(
    session: AsyncSession, broadcast_id: int, at: datetime, *, actor: Actor, now: datetime
) -> Broadcast:
    """Send at `at` (aware, in the future, within a year); a scheduled one can be moved."""
    broadcast = await _locked_in(session, broadcast_id, _EDITABLE, "schedule")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValidationFailed(
            "the time must include a time zone, e.g. 2025-03-01T10:00:00+10:00",
            field="scheduled_at",
        )
    if at <= now:
        raise ValidationFailed("the time must be in the future", field="scheduled_at")
    if at > now + MAX_SCHEDULE_AHEAD:
        raise ValidationFailed("the time must be within a year from now", field="scheduled_at")
    before = _state(broadcast)
    broadcast.status = BroadcastStatus.SCHEDULED
    broadcast.scheduled_at = at.astimezone(UTC)
    return await _recorded(session, broadcast, actor, "broadcast.schedule", before)


async def send_now(
    session: AsyncSession, broadcast_id: int, *, actor: Actor, now: datetime
) -> Broadcast:
    """Start sending a draft or a scheduled broadcast and fix its audience.

    The scheduler calls this too (with a system actor) for what
    `due_for_sending` returns; the lock and the state check make a second
    scheduler instance get InvalidState instead of starting it twice. The
    caller enqueues the sending task after committing.
    """
    broadcast = await _locked_in(session, broadcast_id, _EDITABLE, "send")
    rules = await _audience(session, broadcast)
    before = _state(broadcast)
    broadcast.status = BroadcastStatus.SENDING
    broadcast.started_at = now
    broadcast.finished_at = None
    broadcast.rules_snapshot = rules
    return await _recorded(session, broadcast, actor, "broadcast.send_now", before)


async def pause(session: AsyncSession, broadcast_id: int, *, actor: Actor) -> Broadcast:
    broadcast = await _locked_in(session, broadcast_id, {BroadcastStatus.SENDING}, "pause")
    before = _state(broadcast)
    broadcast.status = BroadcastStatus.PAUSED
    return await _recorded(session, broadcast, actor, "broadcast.pause", before)


async def resume(session: AsyncSession, broadcast_id: int, *, actor: Actor) -> Broadcast:
    broadcast = await _locked_in(session, broadcast_id, {BroadcastStatus.PAUSED}, "resume")
    before = _state(broadcast)
    broadcast.status = BroadcastStatus.SENDING
    return await _recorded(session, broadcast, actor, "broadcast.resume", before)


async def cancel(
    session: AsyncSession, broadcast_id: int, *, actor: Actor, now: datetime
) -> Broadcast:
    """Stop for good; deliveries already sent stay sent, pending ones are never sent."""
    broadcast = await _locked_in(session, broadcast_id, _CANCELLABLE, "cancel")
    before = _state(broadcast)
    broadcast.status = BroadcastStatus.CANCELLED
    broadcast.finished_at = now
    return await _recorded(session, broadcast, actor, "broadcast.cancel", before)


async def due_for_sending(session: AsyncSession, *, now: datetime) -> list[Broadcast]:
    """Scheduled broadcasts whose time has come, the longest waiting first."""
    result = await session.scalars(
        select(Broadcast)
        .where(Broadcast.status == BroadcastStatus.SCHEDULED, Broadcast.scheduled_at <= now)
        .order_by(Broadcast.scheduled_at, Broadcast.id)
    )
    return list(result)


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


def snapshot(broadcast: Broadcast) -> dict[str, Any]:
    """What a marketer edits, plus the status (the audit's before/after of create/update)."""
    return {
        "title": broadcast.title,
        "text": broadcast.text,
        "parse_mode": broadcast.parse_mode,
        "segment_id": broadcast.segment_id,
        "promo_percent": broadcast.promo_percent,
        "status": broadcast.status,
        "scheduled_at": broadcast.scheduled_at,
    }


def _state(broadcast: Broadcast) -> dict[str, Any]:
    """The lifecycle fields (the audit's before/after of a state change)."""
    return {
        "status": broadcast.status,
        "scheduled_at": broadcast.scheduled_at,
        "started_at": broadcast.started_at,
        "finished_at": broadcast.finished_at,
        "rules_snapshot": broadcast.rules_snapshot,
    }


async def _locked_in(
    session: AsyncSession,
    broadcast_id: int,
    allowed: Iterable[BroadcastStatus],
    verb: str,
) -> Broadcast:
    """The broadcast, locked, if its status allows `verb`; InvalidState otherwise."""
    broadcast = await get(session, broadcast_id, for_update=True)
    permitted = sorted(status.value for status in allowed)
    if broadcast.status.value not in permitted:
        raise InvalidState(
            f"cannot {verb} broadcast {broadcast_id}: it is {broadcast.status.value}"
            f" (only {' or '.join(permitted)} can be)",
            entity="broadcast",
            status=broadcast.status.value,
        )
    return broadcast


async def _recorded(
    session: AsyncSession, broadcast: Broadcast, actor: Actor, action: str, before: dict[str, Any]
) -> Broadcast:
    await session.flush()
    await audit.record(
        session, actor, action, "broadcast", broadcast.id, before=before, after=_state(broadcast)
    )
    return broadcast


def _check_content(title: str, text: str, promo_percent: int | None) -> str:
    """The cleaned title, once title, text and percent are valid together."""
    clean_title = title.strip()
    if not 1 <= len(clean_title) <= MAX_TITLE_LENGTH:
        raise ValidationFailed(f"a title must be 1 to {MAX_TITLE_LENGTH} characters", field="title")
    if not text.strip():
        raise ValidationFailed("the text cannot be empty", field="text")
    if len(text) > MAX_TEXT_LENGTH:
        raise ValidationFailed(
            f"the text must be at most {MAX_TEXT_LENGTH} characters, it has {len(text)}",
            field="text",
        )
    try:
        used = placeholders_in(text)
    except InvalidTemplate as error:
        raise ValidationFailed(error.message, field="text") from None
    unknown = used - PLACEHOLDERS
    if unknown:
        raise ValidationFailed(
            f"unknown placeholder {_braced(unknown)}; allowed: {_braced(PLACEHOLDERS)}",
            field="text",
        )
    if promo_percent is not None and not 1 <= promo_percent <= 100:
        raise ValidationFailed("the promo percent must be 1 to 100", field="promo_percent")
    promo_used = used & PROMO_PLACEHOLDERS
    if promo_used and promo_percent is None:
        raise ValidationFailed(
            f"the text uses {_braced(promo_used)}: set a promo percent so each customer"
            " gets a code",
            field="promo_percent",
        )
    return clean_title


def _braced(names: Iterable[str]) -> str:
    return ", ".join(f"{{{name}}}" for name in sorted(names))


async def _audience(session: AsyncSession, broadcast: Broadcast) -> dict[str, Any]:
    """The rules to send by: the segment's as of now, only ever active customers."""
    if broadcast.segment_id is None:
        return {"status": [CustomerStatus.ACTIVE.value]}
    segment = await segments.get(session, broadcast.segment_id)
    rules = dict(segments.parse_rules(segment.rules).model_dump(mode="json", exclude_none=True))
    statuses = rules.get("status")
    if statuses is not None and CustomerStatus.ACTIVE.value not in statuses:
        raise ValidationFailed(
            f"segment {segment.name!r} only takes {', '.join(statuses)} customers,"
            " and broadcasts go to active customers only",
            field="segment_id",
        )
    rules["status"] = [CustomerStatus.ACTIVE.value]
    return rules


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
