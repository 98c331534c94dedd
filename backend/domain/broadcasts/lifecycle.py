"""A broadcast's lifecycle: the admin-facing operations and the state machine they keep.

Every state change reads the broadcast FOR UPDATE (and refreshes it), so a
marketer's pause and the engine's progress queue up behind each other instead of
overwriting each other. An action that is not allowed in the current state is an
`InvalidState` naming that state, and changes nothing.

The audience is fixed when sending starts: `rules_snapshot` holds the segment's
rules at that moment (always narrowed to active customers), so editing or
deleting the segment mid-send cannot change who gets the message.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import audit, segments
from backend.domain.audit import Actor
from backend.domain.broadcasts.content import check_content
from backend.domain.broadcasts.reads import get
from backend.domain.errors import InvalidState, ValidationFailed
from backend.domain.models import ActorKind, Broadcast, BroadcastStatus, CustomerStatus, ParseMode
from backend.domain.templates import check_markup

MAX_SCHEDULE_AHEAD = timedelta(days=365)

_EDITABLE = frozenset({BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED})
_CANCELLABLE = frozenset(
    {
        BroadcastStatus.DRAFT,
        BroadcastStatus.SCHEDULED,
        BroadcastStatus.SENDING,
        BroadcastStatus.PAUSED,
    }
)


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
    clean_title = check_content(title, text, promo_percent)
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
    new_title = check_content(broadcast.title if title is None else title, new_text, new_percent)
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
