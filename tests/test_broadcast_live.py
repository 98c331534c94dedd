"""A marketer sends a broadcast and watches it live: the real engine, the real WebSocket.

Embedded mode: `sendBroadcastNow` enqueues `process_broadcast` on the in-memory
broker inside the API process, the engine sends through the fake Telegram, and
the progress it publishes reaches the subscriber until completion.
"""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain.clock import utcnow
from backend.domain.models import AdminRole, CustomerStatus
from backend.graphql import tokens
from tests.api import JWT_SECRET
from tests.bots import CUSTOMER_TOKEN, Telegram, telegram_world
from tests.factories import make_admin, make_customer
from tests.test_graphql_subscriptions import socket

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
