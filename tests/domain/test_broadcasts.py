"""A marketer writes a broadcast, schedules it, sends it, pauses, resumes and cancels it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain import broadcasts, segments
from backend.domain.audit import Actor
from backend.domain.errors import (
    Conflict,
    DomainError,
    ErrorCode,
    InvalidState,
    NotFound,
    ValidationFailed,
)
from backend.domain.models import (
    AdminRole,
    AuditEntry,
    Broadcast,
    BroadcastDelivery,
    BroadcastStatus,
    CustomerStatus,
    DeliveryStatus,
    ParseMode,
)
from tests.factories import make_admin, make_customer

NOW = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)
VLADIVOSTOK = timezone(timedelta(hours=10))
PROMO_TEXT = "Привет, {first_name}! Ваш код {code}: скидка {percent}% до {expires_on}."
Status = BroadcastStatus


async def make_marketer(session: AsyncSession) -> Actor:
    admin = await make_admin(session, role=AdminRole.MARKETING)
    return Actor.admin(admin.id, admin.email)


async def make_broadcast(
    session: AsyncSession, actor: Actor, status: BroadcastStatus = Status.DRAFT
) -> Broadcast:
    """A broadcast put straight into `status`, with the fields that status implies."""
    broadcast = await broadcasts.create(
        session, title="Весенняя распродажа", text="Привет, {first_name}!", actor=actor
    )
    broadcast.status = status
    if status is not Status.DRAFT:
        broadcast.scheduled_at = NOW + timedelta(hours=1)
    if status not in (Status.DRAFT, Status.SCHEDULED):
        broadcast.started_at = NOW - timedelta(minutes=5)
        broadcast.rules_snapshot = {"status": ["active"]}
    if status in (Status.COMPLETED, Status.CANCELLED, Status.FAILED):
        broadcast.finished_at = NOW - timedelta(minutes=1)
    await session.flush()
    return broadcast


async def stored(sessions: async_sessionmaker[AsyncSession], broadcast_id: int) -> dict[str, Any]:
    """The broadcast as the database has it, read in a session of its own."""
    async with sessions() as fresh:
        broadcast = await fresh.get(Broadcast, broadcast_id)
        assert broadcast is not None
        return {
            "status": broadcast.status,
            "title": broadcast.title,
            "text": broadcast.text,
            "parse_mode": broadcast.parse_mode,
            "segment_id": broadcast.segment_id,
            "promo_percent": broadcast.promo_percent,
            "scheduled_at": broadcast.scheduled_at,
            "started_at": broadcast.started_at,
            "finished_at": broadcast.finished_at,
            "rules_snapshot": broadcast.rules_snapshot,
        }


async def count_rows(sessions: async_sessionmaker[AsyncSession], model: type[Any]) -> int:
    """Rows so far, read in a session of its own: on SQLite a read in the test's session
    would hold the write lock until that session commits."""
    async with sessions() as fresh:
        return await fresh.scalar(select(func.count()).select_from(model)) or 0


async def audit_count(sessions: async_sessionmaker[AsyncSession]) -> int:
    return await count_rows(sessions, AuditEntry)


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


@pytest.mark.parametrize(
    ("fields", "error", "field"),
    [
        ({"text": "   "}, ValidationFailed, "text"),
        ({"text": "я" * 4097}, ValidationFailed, "text"),
        ({"text": "Код {code}"}, ValidationFailed, "promo_percent"),
        ({"text": "До {expires_on}", "promo_percent": None}, ValidationFailed, "promo_percent"),
        ({"text": "Привет, {name}!"}, ValidationFailed, "text"),
        ({"text": "Привет, {first_name!"}, ValidationFailed, "text"),
        ({"text": "Привет, {0}!"}, ValidationFailed, "text"),
        ({"promo_percent": 0}, ValidationFailed, "promo_percent"),
        ({"promo_percent": 101}, ValidationFailed, "promo_percent"),
        ({"title": "  "}, ValidationFailed, "title"),
        ({"title": "т" * 201}, ValidationFailed, "title"),
        ({"segment_id": 999_999}, NotFound, None),
    ],
)
async def test_a_broadcast_with_bad_input_is_not_saved(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    fields: dict[str, Any],
    error: type[DomainError],
    field: str | None,
) -> None:
    marketer = await make_marketer(session)
    await session.commit()
    values: dict[str, Any] = {"title": "Весна", "text": "Привет, {first_name}!", **fields}

    with pytest.raises(error) as caught:
        await broadcasts.create(session, **values, actor=marketer)
    await session.commit()

    assert caught.value.details.get("field") == field
    assert await count_rows(sessions, Broadcast) == 0
    assert await audit_count(sessions) == 0


async def test_the_longest_allowed_text_and_title_are_accepted(session: AsyncSession) -> None:
    marketer = await make_marketer(session)
    broadcast = await broadcasts.create(
        session, title="т" * 200, text="я" * 4096, promo_percent=100, actor=marketer
    )
    await session.commit()
    assert (len(broadcast.title), len(broadcast.text)) == (200, 4096)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"clear_promo_percent": True}, ValidationFailed),
        ({"text": "Привет, {nickname}"}, ValidationFailed),
        ({"title": ""}, ValidationFailed),
        ({"promo_percent": 0}, ValidationFailed),
        ({"segment_id": 999_999}, NotFound),
        ({"segment_id": 1, "clear_segment": True}, ValidationFailed),
        ({"promo_percent": 10, "clear_promo_percent": True}, ValidationFailed),
    ],
)
async def test_a_bad_edit_changes_nothing(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    changes: dict[str, Any],
    error: type[DomainError],
) -> None:
    marketer = await make_marketer(session)
    broadcast = await broadcasts.create(
        session, title="Весна", text=PROMO_TEXT, promo_percent=10, actor=marketer
    )
    await session.commit()
    before = await stored(sessions, broadcast.id)

    with pytest.raises(error):
        await broadcasts.update(session, broadcast.id, actor=marketer, **changes)
    await session.commit()

    assert await stored(sessions, broadcast.id) == before
    assert await audit_count(sessions) == 1


@pytest.mark.parametrize(
    "at",
    [
        NOW - timedelta(minutes=1),
        NOW,
        NOW.replace(tzinfo=None) + timedelta(hours=1),
        NOW + timedelta(days=365, seconds=1),
    ],
    ids=["past", "now", "naive", "beyond-a-year"],
)
async def test_a_broadcast_cannot_be_scheduled_outside_the_next_year(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession], at: datetime
) -> None:
    marketer = await make_marketer(session)
    broadcast = await make_broadcast(session, marketer)
    await session.commit()

    with pytest.raises(ValidationFailed) as caught:
        await broadcasts.schedule(session, broadcast.id, at, actor=marketer, now=NOW)
    await session.commit()

    assert caught.value.details["field"] == "scheduled_at"
    state = await stored(sessions, broadcast.id)
    assert (state["status"], state["scheduled_at"]) == (Status.DRAFT, None)
    assert await audit_count(sessions) == 1

    await broadcasts.schedule(
        session, broadcast.id, NOW + timedelta(days=365), actor=marketer, now=NOW
    )
    await session.commit()
    assert (await stored(sessions, broadcast.id))["status"] is Status.SCHEDULED


async def test_sending_fixes_the_audience_to_the_segments_active_members(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    marketer = await make_marketer(session)
    for status in (CustomerStatus.ACTIVE, CustomerStatus.ACTIVE, CustomerStatus.UNSUBSCRIBED):
        await make_customer(session, status=status, tags=["сладкоежка"])
    await make_customer(session, tags=["опт"])
    fans = await segments.create(
        session,
        "Сладкоежки",
        {"tags_any": ["сладкоежка"], "status": ["active", "unsubscribed"]},
        actor=marketer,
    )
    broadcast = await broadcasts.create(
        session, title="Весна", text="Привет!", segment_id=fans.id, actor=marketer
    )
    await session.commit()

    await broadcasts.send_now(session, broadcast.id, actor=marketer, now=NOW)
    await session.commit()
    snapshot = (await stored(sessions, broadcast.id))["rules_snapshot"]
    assert snapshot == {"tags_any": ["сладкоежка"], "status": ["active"]}
    audience = segments.parse_rules(snapshot)
    assert await segments.count_members(session, audience, now=NOW) == 2

    # Editing or deleting the segment mid-send does not move the audience.
    await segments.update(session, fans.id, actor=marketer, rules={"tags_any": ["опт"]})
    await segments.delete(session, fans.id, actor=marketer)
    await session.commit()
    after = await stored(sessions, broadcast.id)
    assert (after["segment_id"], after["rules_snapshot"]) == (None, snapshot)


async def test_a_segment_of_only_inactive_customers_cannot_be_sent_to(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    marketer = await make_marketer(session)
    gone = await segments.create(session, "Ушедшие", {"status": ["unsubscribed"]}, actor=marketer)
    broadcast = await broadcasts.create(
        session, title="Вернитесь", text="Мы скучаем", segment_id=gone.id, actor=marketer
    )
    await session.commit()

    with pytest.raises(ValidationFailed) as caught:
        await broadcasts.send_now(session, broadcast.id, actor=marketer, now=NOW)
    await session.commit()

    assert caught.value.details["field"] == "segment_id"
    assert (await stored(sessions, broadcast.id))["status"] is Status.DRAFT
    assert await audit_count(sessions) == 2  # the segment and the broadcast being created


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


async def test_stats_count_deliveries_by_status(session: AsyncSession) -> None:
    marketer = await make_marketer(session)
    busy = await make_broadcast(session, marketer, Status.SENDING)
    fresh = await make_broadcast(session, marketer, Status.DRAFT)
    done = await make_broadcast(session, marketer, Status.COMPLETED)
    people = [await make_customer(session) for _ in range(7)]
    outcomes = [DeliveryStatus.SENT] * 2 + [DeliveryStatus.FAILED, DeliveryStatus.BLOCKED]
    outcomes += [DeliveryStatus.PENDING] * 3
    for customer, outcome in zip(people, outcomes, strict=True):
        session.add(
            BroadcastDelivery(broadcast_id=busy.id, customer_id=customer.id, status=outcome)
        )
    for customer in people[:2]:
        session.add(
            BroadcastDelivery(
                broadcast_id=done.id, customer_id=customer.id, status=DeliveryStatus.SENT
            )
        )
    await session.commit()

    busy_stats = broadcasts.BroadcastStats(
        status=Status.SENDING, total=7, sent=2, failed=1, blocked=1, pending=3
    )
    assert await broadcasts.stats(session, busy.id) == busy_stats
    assert await broadcasts.stats(session, fresh.id) == broadcasts.BroadcastStats(Status.DRAFT)
    with pytest.raises(NotFound):
        await broadcasts.stats(session, 999_999)

    assert await broadcasts.stats_many(session, [done.id, busy.id, 999_999, fresh.id, busy.id]) == {
        busy.id: busy_stats,
        fresh.id: broadcasts.BroadcastStats(Status.DRAFT),
        done.id: broadcasts.BroadcastStats(Status.COMPLETED, total=2, sent=2),
    }
    assert await broadcasts.stats_many(session, []) == {}


async def test_a_worker_is_alive_only_while_its_heartbeat_is_fresh_and_never_when_paused(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    marketer = await make_marketer(session)
    busy = await make_broadcast(session, marketer, Status.SENDING)
    paused = await make_broadcast(session, marketer, Status.PAUSED)
    await session.commit()
    changed = (
        await stored_updated_at(sessions, busy.id),
        await stored_updated_at(sessions, paused.id),
    )

    assert await broadcasts.record_heartbeat(session, busy.id, now=NOW)
    assert not await broadcasts.record_heartbeat(session, paused.id, now=NOW)  # nobody sends it
    await session.commit()

    found = await broadcasts.stats_many(session, [busy.id, paused.id])
    await session.commit()
    assert found[busy.id].worker_seen_at == NOW and found[paused.id].worker_seen_at is None
    # The heartbeat is not a change: `updated_at` stays what the last change made it.
    assert changed == (
        await stored_updated_at(sessions, busy.id),
        await stored_updated_at(sessions, paused.id),
    )
    silent_for = broadcasts.RUN_SILENCE + timedelta(seconds=1)
    alive = broadcasts.progress_message(busy.id, found[busy.id], now=NOW, rate=12.5, eta=4.0)
    dead = broadcasts.progress_message(
        busy.id, found[busy.id], now=NOW + silent_for, rate=12.5, eta=4.0
    )
    assert (alive["worker_alive"], alive["rate"], alive["eta"]) == (True, 12.5, 4.0)
    assert (dead["worker_alive"], dead["rate"], dead["eta"]) == (False, None, None)
    stopped = broadcasts.progress_message(paused.id, found[paused.id], now=NOW, rate=3.0)
    assert (stopped["worker_alive"], stopped["rate"]) == (False, None)


async def stored_updated_at(sessions: async_sessionmaker[AsyncSession], broadcast_id: int) -> Any:
    async with sessions() as fresh:
        return await fresh.scalar(select(Broadcast.updated_at).where(Broadcast.id == broadcast_id))


async def test_the_scheduler_finds_the_broadcasts_whose_time_has_come(
    session: AsyncSession,
) -> None:
    marketer = await make_marketer(session)
    earlier = NOW - timedelta(days=1)

    async def scheduled_at(at: datetime) -> Broadcast:
        broadcast = await make_broadcast(session, marketer)
        return await broadcasts.schedule(session, broadcast.id, at, actor=marketer, now=earlier)

    on_time = await scheduled_at(NOW)
    overdue = await scheduled_at(NOW - timedelta(hours=2))
    await scheduled_at(NOW + timedelta(seconds=1))
    already_sent = await scheduled_at(NOW - timedelta(hours=3))
    await broadcasts.send_now(session, already_sent.id, actor=marketer, now=earlier)
    called_off = await scheduled_at(NOW - timedelta(hours=4))
    await broadcasts.cancel(session, called_off.id, actor=marketer, now=earlier)
    await make_broadcast(session, marketer)
    await session.commit()

    due = await broadcasts.due_for_sending(session, now=NOW)

    assert [broadcast.id for broadcast in due] == [overdue.id, on_time.id]
    assert await broadcasts.due_for_sending(session, now=NOW - timedelta(days=2)) == []


async def test_an_unknown_broadcast_is_not_found(session: AsyncSession) -> None:
    marketer = await make_marketer(session)
    await session.commit()
    with pytest.raises(NotFound):
        await broadcasts.get(session, 999_999)
    with pytest.raises(NotFound):
        await broadcasts.pause(session, 999_999, actor=marketer)


async def test_segment_of_a_waiting_broadcast_cannot_be_deleted(session: AsyncSession) -> None:
    segment = await segments.create(
        session, "Сладкоежки", {"tags_any": ["сладкоежка"]}, actor=Actor.system()
    )
    draft = await broadcasts.create(
        session, title="Акция", text="Скидки!", segment_id=segment.id, actor=Actor.system()
    )
    with pytest.raises(Conflict):
        await segments.delete(session, segment.id, actor=Actor.system())
    await broadcasts.cancel(session, draft.id, actor=Actor.system(), now=datetime.now(UTC))
    await segments.delete(session, segment.id, actor=Actor.system())
