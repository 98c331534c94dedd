"""Broadcasts through the admin API over real HTTP: the lifecycle, who may change it,
what it enqueues and publishes, and its stats, deliveries and pages."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import broadcasts, segments
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
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
from backend.pubsub import broadcast_channel
from tests.api import GraphQLClient, RunningServer
from tests.factories import make_customer
from tests.task_queues import SentTasks, sent_by

WAIT = 5.0
VLADIVOSTOK = timezone(timedelta(hours=10))
SYSTEM = Actor.system("test")

FIELDS = """
  id title text parseMode status segmentId promoPercent
  scheduledAt startedAt finishedAt createdAt updatedAt
  segment { id name }
  stats { status total sent failed blocked pending }
"""
CREATE = f"""
mutation Create($input: CreateBroadcastInput!) {{ createBroadcast(input: $input) {{ {FIELDS} }} }}
"""
UPDATE = f"""
mutation Update($id: Int!, $input: UpdateBroadcastInput!) {{
  updateBroadcast(id: $id, input: $input) {{ {FIELDS} }}
}}
"""
SCHEDULE = f"""
mutation Schedule($id: Int!, $at: DateTime!) {{
  scheduleBroadcast(id: $id, at: $at) {{ {FIELDS} }}
}}
"""
BROADCAST = f"query One($id: Int!) {{ broadcast(id: $id) {{ {FIELDS} }} }}"
PAGE = """
query Page($first: Int!, $after: String, $status: [BroadcastStatus!]) {
  broadcasts(first: $first, after: $after, status: $status) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { node { id status stats { total sent } } }
  }
}
"""
DELIVERIES = """
query Deliveries($id: Int!, $first: Int!, $after: String, $status: DeliveryStatus) {
  broadcast(id: $id) {
    deliveries(first: $first, after: $after, status: $status) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { id customerId status attempts lastError sentAt customer { id firstName } } }
    }
  }
}
"""


def action(name: str) -> str:
    """One of the id-only lifecycle mutations."""
    return f"mutation Act($id: Int!) {{ {name}(id: $id) {{ {FIELDS} }} }}"


SEND_NOW, PAUSE, RESUME, CANCEL = (
    action(name)
    for name in ("sendBroadcastNow", "pauseBroadcast", "resumeBroadcast", "cancelBroadcast")
)


@pytest.fixture
def tasks(server: RunningServer) -> SentTasks:
    """What the running server's task queue sends, emptied: what this test's requests enqueue."""
    sent = sent_by(server)
    sent.enqueued.clear()
    return sent


@pytest.fixture
def marketer(staff: dict[AdminRole, GraphQLClient]) -> GraphQLClient:
    return staff[AdminRole.MARKETING]


async def create(client: GraphQLClient, **fields: Any) -> dict[str, Any]:
    values = {"title": "Весенняя распродажа", "text": "Привет, {first_name}!", **fields}
    created: dict[str, Any] = (await client(CREATE, input=values)).data["createBroadcast"]
    return created


def parsed(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


async def take(messages: AsyncIterator[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(WAIT):
        return [await anext(messages) for _ in range(count)]


async def test_a_marketer_takes_a_broadcast_from_draft_to_cancelled(
    marketer: GraphQLClient, server: RunningServer, tasks: SentTasks
) -> None:
    created = await create(marketer, title="  Весна  ", parseMode="HTML")
    broadcast_id = created["id"]
    assert created["title"] == "Весна" and created["parseMode"] == "HTML"
    assert created["status"] == "DRAFT" and created["segment"] is None
    assert created["stats"] == {
        "status": "DRAFT",
        "total": 0,
        "sent": 0,
        "failed": 0,
        "blocked": 0,
        "pending": 0,
    }
    at = (utcnow() + timedelta(days=1)).astimezone(VLADIVOSTOK).replace(microsecond=0)

    async with server.runtime.pubsub.subscribe(broadcast_channel(broadcast_id)) as messages:
        scheduled = (await marketer(SCHEDULE, id=broadcast_id, at=at.isoformat())).data
        assert tasks.requested == []
        sending = (await marketer(SEND_NOW, id=broadcast_id)).data["sendBroadcastNow"]
        assert tasks.requested == [("process_broadcast", {"broadcast_id": broadcast_id})]
        paused = (await marketer(PAUSE, id=broadcast_id)).data["pauseBroadcast"]
        resumed = (await marketer(RESUME, id=broadcast_id)).data["resumeBroadcast"]
        assert tasks.requested == [("process_broadcast", {"broadcast_id": broadcast_id})] * 2
        cancelled = (await marketer(CANCEL, id=broadcast_id)).data["cancelBroadcast"]
        published = await take(messages, 5)

    assert scheduled["scheduleBroadcast"]["status"] == "SCHEDULED"
    assert parsed(scheduled["scheduleBroadcast"]["scheduledAt"]) == at
    assert sending["status"] == "SENDING" and sending["stats"]["status"] == "SENDING"
    assert parsed(sending["startedAt"]) is not None and sending["finishedAt"] is None
    assert paused["status"] == "PAUSED"
    assert resumed["status"] == "SENDING"
    assert cancelled["status"] == "CANCELLED" and parsed(cancelled["finishedAt"]) is not None
    assert len(tasks.requested) == 2
    assert [message["status"] for message in published] == [
        "scheduled",
        "sending",
        "paused",
        "sending",
        "cancelled",
    ]
    assert published[-1] == {
        "broadcast_id": broadcast_id,
        "status": "cancelled",
        "total": 0,
        "sent": 0,
        "failed": 0,
        "blocked": 0,
        "pending": 0,
        "worker_alive": False,
        "rate": None,
        "eta": None,
    }
    again = (await marketer(BROADCAST, id=broadcast_id)).data["broadcast"]
    assert again == cancelled


async def test_a_draft_is_edited_and_checked_as_a_whole(
    marketer: GraphQLClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        segment = await segments.create(session, "ВИП", {"tags_any": ["vip"]}, actor=SYSTEM)
    created = await create(marketer, segmentId=segment.id)
    broadcast_id = created["id"]
    assert created["segment"] == {"id": segment.id, "name": "ВИП"}

    needs_percent = await marketer(UPDATE, id=broadcast_id, input={"text": "Ваш код {code}"})
    updated = await marketer(
        UPDATE,
        id=broadcast_id,
        input={"text": "Ваш код {code}", "promoPercent": 15, "clearSegment": True},
    )
    unknown_segment = await create_error(marketer, segmentId=987_654)
    empty_title = await create_error(marketer, title="   ")

    assert needs_percent.error_code == "VALIDATION"
    assert needs_percent.body["errors"][0]["extensions"]["field"] == "promo_percent"
    broadcast = updated.data["updateBroadcast"]
    assert broadcast["text"] == "Ваш код {code}" and broadcast["promoPercent"] == 15
    assert broadcast["segmentId"] is None and broadcast["segment"] is None
    assert unknown_segment == "NOT_FOUND"
    assert empty_title == "VALIDATION"


async def create_error(client: GraphQLClient, **fields: Any) -> str:
    values = {"title": "Весенняя распродажа", "text": "Привет!", **fields}
    return (await client(CREATE, input=values)).error_code


async def test_changes_the_state_does_not_allow_are_invalid_state_and_change_nothing(
    marketer: GraphQLClient, server: RunningServer, tasks: SentTasks
) -> None:
    broadcast_id = (await create(marketer))["id"]
    future = (utcnow() + timedelta(hours=2)).isoformat()

    async def code(query: str, **variables: Any) -> str:
        return (await marketer(query, id=broadcast_id, **variables)).error_code

    async with server.runtime.pubsub.subscribe(broadcast_channel(broadcast_id)) as messages:
        assert await code(PAUSE) == "INVALID_STATE"
        assert await code(RESUME) == "INVALID_STATE"
        assert (await marketer(SEND_NOW, id=broadcast_id)).data
        assert await code(SEND_NOW) == "INVALID_STATE"
        assert await code(SCHEDULE, at=future) == "INVALID_STATE"
        assert await code(UPDATE, input={"title": "Другое"}) == "INVALID_STATE"
        assert await code(RESUME) == "INVALID_STATE"
        assert (await marketer(CANCEL, id=broadcast_id)).data
        assert await code(CANCEL) == "INVALID_STATE"
        assert await code(RESUME) == "INVALID_STATE"
        assert await code(SEND_NOW) == "INVALID_STATE"
        published = await take(messages, 2)

    refused = await marketer(PAUSE, id=broadcast_id)
    assert refused.body["errors"][0]["extensions"] == {
        "code": "INVALID_STATE",
        "entity": "broadcast",
        "status": "cancelled",
    }
    assert [message["status"] for message in published] == ["sending", "cancelled"]
    assert tasks.requested == [("process_broadcast", {"broadcast_id": broadcast_id})]
    current = (await marketer(BROADCAST, id=broadcast_id)).data["broadcast"]
    assert current["status"] == "CANCELLED" and current["title"] == "Весенняя распродажа"
    assert (await marketer(PAUSE, id=987_654_321)).error_code == "NOT_FOUND"


async def test_scheduling_needs_a_future_time_with_a_zone(marketer: GraphQLClient) -> None:
    broadcast_id = (await create(marketer))["id"]
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    naive = (utcnow() + timedelta(days=1)).replace(tzinfo=None).isoformat()

    in_the_past = await marketer(SCHEDULE, id=broadcast_id, at=past)
    without_zone = await marketer(SCHEDULE, id=broadcast_id, at=naive)

    assert in_the_past.error_code == "VALIDATION"
    assert without_zone.error_code == "VALIDATION"
    assert (await marketer(BROADCAST, id=broadcast_id)).data["broadcast"]["status"] == "DRAFT"


async def test_readonly_can_look_but_every_change_is_forbidden(
    staff: dict[AdminRole, GraphQLClient], tasks: SentTasks
) -> None:
    broadcast_id = (await create(staff[AdminRole.MARKETING]))["id"]
    readonly = staff[AdminRole.READONLY]
    at = (utcnow() + timedelta(days=1)).isoformat()
    attempts = [
        (CREATE, {"input": {"title": "Весна", "text": "Привет!"}}),
        (UPDATE, {"id": broadcast_id, "input": {"title": "Другое"}}),
        (SCHEDULE, {"id": broadcast_id, "at": at}),
        (SEND_NOW, {"id": broadcast_id}),
        (PAUSE, {"id": broadcast_id}),
        (RESUME, {"id": broadcast_id}),
        (CANCEL, {"id": broadcast_id}),
    ]

    codes = [(await readonly(query, **variables)).error_code for query, variables in attempts]

    assert codes == ["FORBIDDEN"] * len(attempts)
    assert tasks.requested == []
    seen = (await readonly(BROADCAST, id=broadcast_id)).data["broadcast"]
    assert seen["status"] == "DRAFT" and seen["title"] == "Весенняя распродажа"
    page = (await readonly(PAGE, first=10)).data["broadcasts"]
    assert page["totalCount"] == 1
    assert (await readonly.as_(None)(BROADCAST, id=broadcast_id)).error_code == "UNAUTHENTICATED"


async def test_stats_and_deliveries_come_from_the_delivery_rows(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    statuses = [
        DeliveryStatus.SENT,
        DeliveryStatus.SENT,
        DeliveryStatus.FAILED,
        DeliveryStatus.BLOCKED,
        DeliveryStatus.PENDING,
    ]
    sent_at = datetime(2025, 3, 15, 2, 0, tzinfo=UTC)
    async with sessions() as session, session.begin():
        customers = [
            await make_customer(session, first_name=f"Анна {n}", status=CustomerStatus.ACTIVE)
            for n in range(len(statuses))
        ]
        watched = await broadcasts.create(session, title="Весна", text="Привет!", actor=SYSTEM)
        other = await broadcasts.create(session, title="Лето", text="Привет!", actor=SYSTEM)
        watched.status = other.status = BroadcastStatus.SENDING
        for customer, status in zip(customers, statuses, strict=True):
            session.add(
                BroadcastDelivery(
                    broadcast_id=watched.id,
                    customer_id=customer.id,
                    status=status,
                    attempts=3 if status is DeliveryStatus.FAILED else 1,
                    last_error="Bad Request: chat not found"
                    if status is DeliveryStatus.FAILED
                    else None,
                    sent_at=sent_at if status is DeliveryStatus.SENT else None,
                )
            )
        session.add(
            BroadcastDelivery(
                broadcast_id=other.id,
                customer_id=customers[0].id,
                status=DeliveryStatus.SENT,
                attempts=1,
                sent_at=sent_at,
            )
        )
    readonly = staff[AdminRole.READONLY]

    card = (await readonly(BROADCAST, id=watched.id)).data["broadcast"]
    listed = (await readonly(PAGE, first=10)).data["broadcasts"]
    first = (await readonly(DELIVERIES, id=watched.id, first=2)).data["broadcast"]["deliveries"]
    after = first["pageInfo"]["endCursor"]
    rest = (await readonly(DELIVERIES, id=watched.id, first=10, after=after)).data
    failed = (await readonly(DELIVERIES, id=watched.id, first=10, status="FAILED")).data

    assert card["stats"] == {
        "status": "SENDING",
        "total": 5,
        "sent": 2,
        "failed": 1,
        "blocked": 1,
        "pending": 1,
    }
    assert [edge["node"] for edge in listed["edges"]] == [
        {"id": other.id, "status": "SENDING", "stats": {"total": 1, "sent": 1}},
        {"id": watched.id, "status": "SENDING", "stats": {"total": 5, "sent": 2}},
    ]
    assert first["totalCount"] == 5 and first["pageInfo"]["hasNextPage"] is True
    nodes = [edge["node"] for edge in first["edges"]]
    nodes += [edge["node"] for edge in rest["broadcast"]["deliveries"]["edges"]]
    assert rest["broadcast"]["deliveries"]["pageInfo"]["hasNextPage"] is False
    assert [node["customerId"] for node in nodes] == [customer.id for customer in customers]
    assert [node["status"] for node in nodes] == [status.name for status in statuses]
    assert [node["customer"]["firstName"] for node in nodes] == [
        f"Анна {n}" for n in range(len(statuses))
    ]
    assert parsed(nodes[0]["sentAt"]) == sent_at and nodes[4]["sentAt"] is None
    [only_failed] = [edge["node"] for edge in failed["broadcast"]["deliveries"]["edges"]]
    assert failed["broadcast"]["deliveries"]["totalCount"] == 1
    assert only_failed["attempts"] == 3
    assert only_failed["lastError"] == "Bad Request: chat not found"


async def test_broadcasts_page_newest_first_and_filter_by_status(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        rows = [
            await broadcasts.create(session, title=f"Рассылка {n}", text="Привет!", actor=SYSTEM)
            for n in range(5)
        ]
        rows[1].status = rows[3].status = BroadcastStatus.CANCELLED
    ids = [row.id for row in reversed(rows)]
    readonly = staff[AdminRole.READONLY]

    first = (await readonly(PAGE, first=2)).data["broadcasts"]
    cursor = first["pageInfo"]["endCursor"]
    second = (await readonly(PAGE, first=2, after=cursor)).data["broadcasts"]
    last = (await readonly(PAGE, first=2, after=second["pageInfo"]["endCursor"])).data
    cancelled = (await readonly(PAGE, first=10, status=["CANCELLED"])).data["broadcasts"]
    missing = (await readonly(BROADCAST, id=987_654_321)).data

    def ids_of(page: dict[str, Any]) -> list[int]:
        return [edge["node"]["id"] for edge in page["edges"]]

    assert ids_of(first) + ids_of(second) + ids_of(last["broadcasts"]) == ids
    assert first["totalCount"] == 5
    assert first["pageInfo"]["hasNextPage"] and not first["pageInfo"]["hasPreviousPage"]
    assert second["pageInfo"]["hasPreviousPage"]
    assert not last["broadcasts"]["pageInfo"]["hasNextPage"]
    assert ids_of(cancelled) == [rows[3].id, rows[1].id] and cancelled["totalCount"] == 2
    assert missing == {"broadcast": None}


@pytest.mark.parametrize(
    "cursor",
    ["not a cursor!", base64.urlsafe_b64encode(b'["x"]').decode(), "WyJ4IiwgInkiXQ=="],
    ids=["not base64", "one value", "id not a number"],
)
async def test_a_malformed_cursor_is_bad_cursor(
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
    cursor: str,
) -> None:
    async with sessions() as session, session.begin():
        row = await broadcasts.create(session, title="Весна", text="Привет!", actor=SYSTEM)
    readonly = staff[AdminRole.READONLY]

    page = await readonly(PAGE, first=2, after=cursor)
    deliveries = await readonly(DELIVERIES, id=row.id, first=2, after=cursor)

    assert page.error_code == "BAD_CURSOR"
    assert deliveries.error_code == "BAD_CURSOR"


# --- Markup (issue 12) ----------------------------------------------------------------------


async def test_markup_telegram_would_refuse_is_invalid_markup_saying_where_and_nothing_is_stored(
    marketer: GraphQLClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Before: accepted, and every delivery failed with "can't parse entities" when sent."""
    unclosed = await marketer(
        CREATE, input={"title": "Весна", "text": "Скидки <b>до 50%", "parseMode": "HTML"}
    )
    reserved = await marketer(
        CREATE,
        input={
            "title": "Весна",
            "text": "{first_name}, скидка {code}\nдо пятницы!",
            "parseMode": "MARKDOWN_V2",
            "promoPercent": 10,
        },
    )
    draft = await create(marketer, text="Весна пришла!")
    switched = await marketer(UPDATE, id=draft["id"], input={"parseMode": "MARKDOWN_V2"})
    edited = await marketer(
        UPDATE, id=draft["id"], input={"text": "Весна <i>пришла", "parseMode": "HTML"}
    )

    assert unclosed.error_code == "INVALID_MARKUP"
    assert unclosed.body["errors"][0]["message"] == (
        "HTML: tag <b> opened at line 1, column 8 is never closed"
    )
    assert unclosed.body["errors"][0]["extensions"] == {
        "code": "INVALID_MARKUP",
        "offset": 7,
        "line": 1,
        "column": 8,
    }
    assert reserved.error_code == "INVALID_MARKUP"
    assert reserved.body["errors"][0]["message"] == (
        "MarkdownV2: '!' at line 2, column 11 is reserved: write \\! to show it as it is"
    )
    assert switched.error_code == "INVALID_MARKUP"
    assert "'!' at line 1, column 13" in switched.body["errors"][0]["message"]
    assert edited.error_code == "INVALID_MARKUP"
    assert "tag <i> opened at line 1, column 7" in edited.body["errors"][0]["message"]
    async with sessions() as session:
        stored = await session.scalars(select(Broadcast))
        assert [(b.text, b.parse_mode) for b in stored] == [("Весна пришла!", ParseMode.PLAIN)]
        actions = await session.scalars(select(AuditEntry.action))
        assert list(actions) == ["broadcast.create"]


async def test_an_html_broadcast_with_valid_markup_is_kept_as_written(
    marketer: GraphQLClient,
) -> None:
    text = '<b>{first_name}</b>, <a href="https://dvorik.shop/?a=1&amp;b=2">весна</a> &lt;3'
    created = await create(marketer, text=text, parseMode="HTML")
    edited = await marketer(
        UPDATE,
        id=created["id"],
        input={"text": "*{first_name}*, весна\\!", "parseMode": "MARKDOWN_V2"},
    )

    assert (created["text"], created["parseMode"]) == (text, "HTML")
    assert edited.data["updateBroadcast"]["parseMode"] == "MARKDOWN_V2"
