"""A marketer sends a broadcast and watches it live: the real engine, the real WebSocket.

Embedded mode: `sendBroadcastNow` enqueues `process_broadcast` on the in-memory
broker inside the API process, the engine sends through the fake Telegram, and
the progress it publishes reaches the subscriber until completion. A pause
while requests are on the wire ends with a snapshot that counts every one of
them, with no worker and no rate.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import broadcasts
from backend.domain.clock import utcnow
from backend.domain.deliveries import IN_FLIGHT
from backend.domain.models import AdminRole, BroadcastDelivery, CustomerStatus, DeliveryStatus
from backend.graphql import tokens
from backend.graphql.broadcasts.progress import QUIET_CHECK_SECONDS
from tests.api import JWT_SECRET
from tests.factories import make_admin, make_customer
from tests.graphql.test_graphql_subscriptions import Socket, socket
from tests.processes import wait_until
from tests.telegram_world import CUSTOMER_TOKEN, Telegram, telegram_world

__all__ = ["telegram_world"]
RECIPIENTS = 30

CREATE = """
mutation { createBroadcast(input: {title: "Новинки", text: "{first_name}, у нас новый мармелад!"})
  { id } }
"""
SEND = "mutation($id: Int!) { sendBroadcastNow(id: $id) { status } }"


async def test_marketer_watches_a_broadcast_rise_to_completion(
    telegram_world: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    telegram_world.fake.reset()
    async with sessions() as session, session.begin():
        marketer = await make_admin(session, role=AdminRole.MARKETING)
        people = [
            await make_customer(session, first_name=f"Гость{index}") for index in range(RECIPIENTS)
        ]
        await make_customer(session, status=CustomerStatus.UNSUBSCRIBED)
    token = tokens.issue(marketer, secret=JWT_SECRET, now=utcnow()).token
    headers = {"Authorization": f"Bearer {token}"}

    async with httpx.AsyncClient(base_url=telegram_world.dvorik.url, headers=headers) as http:
        created = await http.post("/graphql", json={"query": CREATE})
        broadcast_id = created.json()["data"]["createBroadcast"]["id"]
        async with socket(telegram_world.dvorik, token) as ws:
            await ws.subscribe(broadcast_id)
            first = await ws.next_progress()
            sent = await http.post(
                "/graphql", json={"query": SEND, "variables": {"id": broadcast_id}}
            )
            assert sent.json()["data"]["sendBroadcastNow"]["status"] == "SENDING"
            updates = []
            while True:
                message = await ws.receive()
                if message["type"] == "complete":
                    break
                updates.append(message["payload"]["data"]["broadcastProgress"])

    assert first["status"] == "DRAFT"
    counts = [update["sent"] for update in updates]
    assert counts == sorted(counts), counts
    assert updates[-1]["status"] == "COMPLETED"
    assert updates[-1]["sent"] == RECIPIENTS and updates[-1]["pending"] == 0
    for person in people:
        received = telegram_world.fake.messages_to(person.telegram_id, token=CUSTOMER_TOKEN)
        assert [m.text for m in received] == [f"{person.first_name}, у нас новый мармелад!"]


WATCH = """
subscription Watch($id: Int!) {
  broadcastProgress(id: $id) { status total sent failed blocked pending workerAlive rate eta }
}
"""
ACTION = "mutation($id: Int!) { %s(id: $id) { status } }"
PAUSED_RECIPIENTS = 40
ON_THE_WIRE = 0.5  # seconds the fake takes to answer: requests are in flight at the pause


async def test_a_paused_broadcast_shows_every_message_that_went_out_and_no_rate(
    telegram_world: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Issue 12: the PAUSED snapshot said sent=947 while 963 had gone out, until resume.

    Requests on the wire when the pause commits finish after it; the viewer's
    last snapshot must count them (read from the delivery rows once the run has
    stopped), and show no worker and no rate, as nobody sends a paused broadcast.
    """
    fake = telegram_world.fake
    fake.reset()
    async with sessions() as session, session.begin():
        marketer = await make_admin(session, role=AdminRole.MARKETING)
        people = [
            await make_customer(session, first_name=f"Пауза{index}")
            for index in range(PAUSED_RECIPIENTS)
        ]
    token = tokens.issue(marketer, secret=JWT_SECRET, now=utcnow()).token
    headers = {"Authorization": f"Bearer {token}"}
    seen: list[dict[str, Any]] = []

    async def watch(ws: Socket) -> None:
        while True:
            message = await ws.receive_quietly()
            if message["type"] == "complete":
                return
            seen.append(message["payload"]["data"]["broadcastProgress"])

    async def graphql(http: httpx.AsyncClient, query: str, **variables: Any) -> Any:
        answer = await http.post("/graphql", json={"query": query, "variables": variables})
        assert "errors" not in answer.json(), answer.text
        return answer.json()["data"]

    async with httpx.AsyncClient(base_url=telegram_world.dvorik.url, headers=headers) as http:
        created = await graphql(http, CREATE)
        broadcast_id = created["createBroadcast"]["id"]
        fake.slow(ON_THE_WIRE)
        watching: asyncio.Task[None] | None = None
        try:
            async with socket(telegram_world.dvorik, token) as ws:
                await ws.send(
                    {
                        "id": "1",
                        "type": "subscribe",
                        "payload": {"query": WATCH, "variables": {"id": broadcast_id}},
                    }
                )
                watching = asyncio.create_task(watch(Socket(ws.connection)))
                await graphql(http, ACTION % "sendBroadcastNow", id=broadcast_id)

                async def some_sent() -> bool:
                    return await _count(sessions, broadcast_id, DeliveryStatus.SENT) >= 8

                await wait_until(some_sent, "8 sent", seconds=30)
                await graphql(http, ACTION % "pauseBroadcast", id=broadcast_id)

                async def run_stopped() -> bool:  # nothing held: requests on the wire are recorded
                    return await _held(sessions, broadcast_id) == 0

                await wait_until(run_stopped, "the run stopped", seconds=30)
                rows = await _stats(sessions, broadcast_id)
                expected = {
                    "status": "PAUSED",
                    "total": PAUSED_RECIPIENTS,
                    "sent": rows.sent,
                    "failed": rows.failed,
                    "blocked": rows.blocked,
                    "pending": rows.pending,
                    "workerAlive": False,
                    "rate": None,
                    "eta": None,
                }

                async def shows_the_rows() -> bool:
                    return bool(seen) and seen[-1] == expected

                with contextlib.suppress(AssertionError):  # the assert below shows the diff
                    await wait_until(shows_the_rows, "the viewer shows the rows", seconds=10)
                assert seen[-1:] == [expected]
                # ... and keeps showing them: nothing stale comes after (the subscription
                # reads the database itself once the channel has been quiet).
                await asyncio.sleep(QUIET_CHECK_SECONDS + 1.0)
                paused_view = seen[-1]
                went_out = sum(
                    len(fake.messages_to(person.telegram_id, token=CUSTOMER_TOKEN))
                    for person in people
                )
                fake.slow(0)
                await graphql(http, ACTION % "resumeBroadcast", id=broadcast_id)
                await asyncio.wait_for(watching, 60)
        finally:
            fake.slow(0)
            if watching is not None and not watching.done():
                watching.cancel()

    assert paused_view == expected, (paused_view, expected)
    assert paused_view["sent"] == went_out  # every message that went out is counted
    assert 8 <= went_out < PAUSED_RECIPIENTS
    assert seen[-1]["status"] == "COMPLETED" and seen[-1]["sent"] == PAUSED_RECIPIENTS, seen[-3:]
    for person in people:
        received = fake.messages_to(person.telegram_id, token=CUSTOMER_TOKEN)
        assert [m.text for m in received] == [f"{person.first_name}, у нас новый мармелад!"]


async def _count(
    sessions: async_sessionmaker[AsyncSession], broadcast_id: int, status: DeliveryStatus
) -> int:
    async with sessions() as session:
        found = await session.scalar(
            select(func.count(BroadcastDelivery.id)).where(
                BroadcastDelivery.broadcast_id == broadcast_id, BroadcastDelivery.status == status
            )
        )
    return int(found or 0)


async def _held(sessions: async_sessionmaker[AsyncSession], broadcast_id: int) -> int:
    """Rows a run holds (claimed or being sent): none once every run has stopped."""
    async with sessions() as session:
        found = await session.scalar(
            select(func.count(BroadcastDelivery.id)).where(
                BroadcastDelivery.broadcast_id == broadcast_id,
                BroadcastDelivery.status == DeliveryStatus.PENDING,
                or_(*(BroadcastDelivery.last_error.startswith(held) for held in IN_FLIGHT)),
            )
        )
    return int(found or 0)


async def _stats(
    sessions: async_sessionmaker[AsyncSession], broadcast_id: int
) -> broadcasts.BroadcastStats:
    async with sessions() as session:
        return await broadcasts.stats(session, broadcast_id)
