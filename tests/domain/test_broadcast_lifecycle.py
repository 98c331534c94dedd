"""A marketer takes a broadcast from draft through sending to cancelled.

Each action works only in the states that allow it, is audited, and a
broadcast pressed "send" twice at once starts once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain import broadcasts, segments
from backend.domain.audit import Actor
from backend.domain.errors import DomainError, ErrorCode, InvalidState, NotFound
from backend.domain.models import AuditEntry, Broadcast, BroadcastStatus, ParseMode
from tests.broadcast_states import (
    NOW,
    PROMO_TEXT,
    VLADIVOSTOK,
    Status,
    audit_count,
    make_broadcast,
    make_marketer,
    stored,
)


async def test_marketer_takes_a_broadcast_from_draft_to_cancelled(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    marketer = await make_marketer(session)
    fans = await segments.create(
        session, "Сладкоежки", {"tags_any": ["сладкоежка"]}, actor=marketer
    )
    await session.commit()

    draft = await broadcasts.create(
        session,
        title=" Весна ",
        text=PROMO_TEXT,
        segment_id=fans.id,
        promo_percent=15,
        actor=marketer,
    )
    await session.commit()
    assert await stored(sessions, draft.id) == {
        "status": Status.DRAFT,
        "title": "Весна",
        "text": PROMO_TEXT,
        "parse_mode": ParseMode.PLAIN,
        "segment_id": fans.id,
        "promo_percent": 15,
        "scheduled_at": None,
        "started_at": None,
        "finished_at": None,
        "rules_snapshot": None,
    }
    assert draft.created_by_admin_id == marketer.id

    await broadcasts.update(
        session,
        draft.id,
        actor=marketer,
        title="Весна в Дворике",
        parse_mode=ParseMode.HTML,
        text="<b>Весна!</b> Код {code}",
        clear_segment=True,
    )
    await broadcasts.update(session, draft.id, actor=marketer, title="Весна в Дворике")  # no-op
    await session.commit()
    edited = await stored(sessions, draft.id)
    assert (edited["title"], edited["parse_mode"], edited["segment_id"]) == (
        "Весна в Дворике",
        ParseMode.HTML,
        None,
    )

    first_time = datetime(2025, 3, 16, 10, 0, tzinfo=VLADIVOSTOK)
    await broadcasts.schedule(session, draft.id, first_time, actor=marketer, now=NOW)
    await session.commit()
    assert (await stored(sessions, draft.id))["scheduled_at"] == first_time

    later = first_time + timedelta(hours=3)
    await broadcasts.schedule(session, draft.id, later, actor=marketer, now=NOW)
    await broadcasts.update(session, draft.id, actor=marketer, promo_percent=20)
    await session.commit()
    rescheduled = await stored(sessions, draft.id)
    assert rescheduled["status"] is Status.SCHEDULED
    assert rescheduled["scheduled_at"] == later
    assert rescheduled["scheduled_at"].tzinfo is UTC
    assert rescheduled["promo_percent"] == 20

    started = NOW + timedelta(minutes=1)
    await broadcasts.send_now(session, draft.id, actor=marketer, now=started)
    await session.commit()
    sending = await stored(sessions, draft.id)
    assert sending["status"] is Status.SENDING
    assert sending["started_at"] == started
    assert sending["rules_snapshot"] == {"status": ["active"]}

    await broadcasts.pause(session, draft.id, actor=marketer)
    await session.commit()
    assert (await stored(sessions, draft.id))["status"] is Status.PAUSED

    await broadcasts.resume(session, draft.id, actor=marketer)
    await session.commit()
    assert (await stored(sessions, draft.id))["status"] is Status.SENDING

    finished = NOW + timedelta(minutes=7)
    await broadcasts.cancel(session, draft.id, actor=marketer, now=finished)
    await session.commit()
    cancelled = await stored(sessions, draft.id)
    assert (cancelled["status"], cancelled["finished_at"]) == (Status.CANCELLED, finished)

    entries = list(
        await session.scalars(
            select(AuditEntry).where(AuditEntry.entity_type == "broadcast").order_by(AuditEntry.id)
        )
    )
    assert [
        (
            entry.action,
            entry.before and entry.before["status"],
            entry.after and entry.after["status"],
        )
        for entry in entries
    ] == [
        ("broadcast.create", None, "draft"),
        ("broadcast.update", "draft", "draft"),
        ("broadcast.schedule", "draft", "scheduled"),
        ("broadcast.schedule", "scheduled", "scheduled"),
        ("broadcast.update", "scheduled", "scheduled"),
        ("broadcast.send_now", "scheduled", "sending"),
        ("broadcast.pause", "sending", "paused"),
        ("broadcast.resume", "paused", "sending"),
        ("broadcast.cancel", "sending", "cancelled"),
    ]
    assert {(entry.entity_id, entry.actor_id) for entry in entries} == {
        (str(draft.id), marketer.id)
    }
    assert entries[1].after is not None and entries[1].after["segment_id"] is None
    assert entries[5].after is not None
    assert entries[5].after["rules_snapshot"] == {"status": ["active"]}


Action = Callable[[AsyncSession, int, Actor], Awaitable[Broadcast]]

ACTIONS: dict[str, tuple[Action, frozenset[BroadcastStatus], BroadcastStatus | None]] = {
    # name: (call, the statuses it is allowed in, the status it leads to; None: unchanged)
    "update": (
        lambda s, i, a: broadcasts.update(s, i, actor=a, title="Другое"),
        frozenset({Status.DRAFT, Status.SCHEDULED}),
        None,
    ),
    "schedule": (
        lambda s, i, a: broadcasts.schedule(s, i, NOW + timedelta(days=1), actor=a, now=NOW),
        frozenset({Status.DRAFT, Status.SCHEDULED}),
        Status.SCHEDULED,
    ),
    "send": (
        lambda s, i, a: broadcasts.send_now(s, i, actor=a, now=NOW),
        frozenset({Status.DRAFT, Status.SCHEDULED}),
        Status.SENDING,
    ),
    "pause": (
        lambda s, i, a: broadcasts.pause(s, i, actor=a),
        frozenset({Status.SENDING}),
        Status.PAUSED,
    ),
    "resume": (
        lambda s, i, a: broadcasts.resume(s, i, actor=a),
        frozenset({Status.PAUSED}),
        Status.SENDING,
    ),
    "cancel": (
        lambda s, i, a: broadcasts.cancel(s, i, actor=a, now=NOW),
        frozenset({Status.DRAFT, Status.SCHEDULED, Status.SENDING, Status.PAUSED}),
        Status.CANCELLED,
    ),
}


@pytest.mark.parametrize("name", list(ACTIONS))
async def test_each_action_works_only_in_the_states_that_allow_it(
    name: str, session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    action, allowed, leads_to = ACTIONS[name]
    marketer = await make_marketer(session)
    arranged = {status: (await make_broadcast(session, marketer, status)).id for status in Status}
    await session.commit()
    audited = await audit_count(sessions)

    for status, broadcast_id in arranged.items():
        before = await stored(sessions, broadcast_id)
        if status in allowed:
            await action(session, broadcast_id, marketer)
            await session.commit()
            assert (await stored(sessions, broadcast_id))["status"] is (leads_to or status)
            audited += 1
        else:
            with pytest.raises(InvalidState) as caught:
                await action(session, broadcast_id, marketer)
            await session.rollback()
            assert caught.value.code is ErrorCode.INVALID_STATE
            assert f"it is {status.value}" in caught.value.message
            assert caught.value.details["status"] == status.value
            assert await stored(sessions, broadcast_id) == before
        assert await audit_count(sessions) == audited, status


async def warm_up_connections(engine: AsyncEngine, count: int) -> None:
    """Open the pool's connections first, so the racers start together, not staggered."""
    opened = await asyncio.gather(*(engine.connect().start() for _ in range(count)))
    await asyncio.gather(*(connection.close() for connection in opened))


async def test_a_broadcast_started_twice_at_once_starts_once(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        marketer = await make_marketer(session)
        broadcast = await make_broadcast(session, marketer, Status.SCHEDULED)
        await session.commit()
    await warm_up_connections(engine, 20)
    start = asyncio.Event()

    async def press() -> str:
        await start.wait()
        try:
            async with sessions() as session, session.begin():
                await broadcasts.send_now(session, broadcast.id, actor=marketer, now=NOW)
        except DomainError as error:
            return error.code.value
        return "ok"

    presses = [asyncio.create_task(press()) for _ in range(20)]
    await asyncio.sleep(0.05)
    start.set()
    outcomes = await asyncio.gather(*presses)

    assert outcomes.count("ok") == 1
    assert outcomes.count(ErrorCode.INVALID_STATE.value) == 19
    async with sessions() as session:
        sends = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "broadcast.send_now")
        )
    assert sends == 1
    assert (await stored(sessions, broadcast.id))["status"] is Status.SENDING


async def test_an_unknown_broadcast_is_not_found(session: AsyncSession) -> None:
    marketer = await make_marketer(session)
    await session.commit()
    with pytest.raises(NotFound):
        await broadcasts.get(session, 999_999)
    with pytest.raises(NotFound):
        await broadcasts.pause(session, 999_999, actor=marketer)
