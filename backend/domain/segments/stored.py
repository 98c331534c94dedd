"""Stored segments: named rule sets a marketer creates, edits and deletes (audited)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import audit
from backend.domain.audit import Actor
from backend.domain.dialects import fold, folded
from backend.domain.errors import Conflict, NotFound, ValidationFailed
from backend.domain.models import Broadcast, BroadcastStatus, Segment
from backend.domain.segments.rules import SegmentRules, parse_rules

MAX_NAME_LENGTH = 128


async def get(session: AsyncSession, segment_id: int, *, for_update: bool = False) -> Segment:
    segment = await session.get(Segment, segment_id, with_for_update=for_update)
    if segment is None:
        raise NotFound(f"segment {segment_id} does not exist", entity="segment")
    return segment


async def find(session: AsyncSession, segment_id: int) -> Segment | None:
    """The segment, or None; one already in the session is not read again."""
    return await session.get(Segment, segment_id)


async def list_all(session: AsyncSession) -> list[Segment]:
    """Every segment, by name."""
    return list(await session.scalars(select(Segment).order_by(Segment.name)))


async def by_ids(session: AsyncSession, ids: Iterable[int]) -> list[Segment]:
    """The segments among `ids` that exist, in no particular order (one statement)."""
    return list(await session.scalars(select(Segment).where(Segment.id.in_(list(ids)))))


async def create(
    session: AsyncSession,
    name: str,
    rules: dict[str, Any],
    *,
    actor: Actor,
    description: str | None = None,
) -> Segment:
    segment = Segment(
        name=await _free_name(session, name),
        rules=_stored(parse_rules(rules)),
        description=_clean_description(description),
    )
    async with _name_guard(session, segment.name):
        session.add(segment)
    await audit.record(
        session, actor, "segment.create", "segment", segment.id, after=snapshot(segment)
    )
    return segment


async def update(
    session: AsyncSession,
    segment_id: int,
    *,
    actor: Actor,
    name: str | None = None,
    rules: dict[str, Any] | None = None,
    description: str | None = None,
) -> Segment:
    """Change what is given: `rules` replace the old ones whole, description "" clears it.

    A call that changes nothing leaves no audit line.
    """
    parsed = parse_rules(rules) if rules is not None else None
    segment = await get(session, segment_id, for_update=True)
    before = snapshot(segment)
    new_name = await _free_name(session, name, keep_id=segment.id) if name is not None else None
    async with _name_guard(session, new_name or segment.name):
        if new_name is not None:
            segment.name = new_name
        if parsed is not None:
            segment.rules = _stored(parsed)
        if description is not None:
            segment.description = _clean_description(description)
    if snapshot(segment) != before:
        await audit.record(
            session,
            actor,
            "segment.update",
            "segment",
            segment.id,
            before=before,
            after=snapshot(segment),
        )
    return segment


async def delete(session: AsyncSession, segment_id: int, *, actor: Actor) -> None:
    """Refused while an unsent broadcast targets it: without the segment it would go to all.

    Broadcasts already sending or sent keep their rules snapshot (segment_id goes NULL).
    """
    segment = await get(session, segment_id, for_update=True)
    waiting = await session.scalar(
        select(func.count())
        .select_from(Broadcast)
        .where(
            Broadcast.segment_id == segment_id,
            Broadcast.status.in_((BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED)),
        )
    )
    if waiting:
        raise Conflict(
            f"{waiting} draft or scheduled broadcast(s) use this segment; change them first",
            field="id",
        )
    before = snapshot(segment)
    await session.delete(segment)
    await session.flush()
    await audit.record(session, actor, "segment.delete", "segment", segment_id, before=before)


def _stored(rules: SegmentRules) -> dict[str, Any]:
    return rules.model_dump(mode="json", exclude_none=True)


def _clean_description(raw: str | None) -> str | None:
    return (raw or "").strip() or None


async def _free_name(session: AsyncSession, raw: str, *, keep_id: int | None = None) -> str:
    """The cleaned name, or Conflict if another segment has it in any case, with ё as е
    (docs/text-folding.md)."""
    name = raw.strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise ValidationFailed(f"a name must be 1 to {MAX_NAME_LENGTH} characters", field="name")
    query = select(Segment.id).where(folded(Segment.name) == fold(name))
    if keep_id is not None:
        query = query.where(Segment.id != keep_id)
    if await session.scalar(query) is not None:
        raise Conflict(f"a segment named {name!r} already exists", field="name")
    return name


@asynccontextmanager
async def _name_guard(session: AsyncSession, name: str) -> AsyncIterator[None]:
    """Flush what is done inside under a savepoint; a duplicate name becomes Conflict.

    `_free_name` already said the name was free; this catches the parallel
    request that took it in between (the unique index is the last word).
    """
    try:
        async with session.begin_nested():
            yield
    except IntegrityError:
        raise Conflict(f"a segment named {name!r} already exists", field="name") from None


def snapshot(segment: Segment) -> dict[str, Any]:
    return {"name": segment.name, "description": segment.description, "rules": segment.rules}
