"""Live broadcast progress over a real WebSocket (graphql-transport-ws) to a running server.

The engine is not there yet, so the tests publish progress themselves: to the
server's own in-process pub/sub, or through Redis to a second server that uses
it. Redis is found at TEST_REDIS_URL (default database 15 on 127.0.0.1:6379);
when it cannot be reached its test skips locally and fails when CI=true.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from backend.domain.clock import utcnow
from backend.domain.models import (
    AdminRole,
    Broadcast,
    BroadcastDelivery,
    BroadcastStatus,
    DeliveryStatus,
)
from backend.pubsub import InProcessPubSub, PubSub, RedisPubSub, broadcast_channel
from tests.api import GraphQLClient, RunningServer, serve, settings_for
from tests.databases import redis_url, unavailable
from tests.factories import make_customer

REDIS_URL = redis_url("TEST_REDIS_URL", 15)
WAIT = 5.0  # seconds; far more than any message here should take
COMPLETE = {"id": "1", "type": "complete"}  # the server ends subscription "1"
PROTOCOL = Subprotocol("graphql-transport-ws")
LEGACY_PROTOCOL = Subprotocol("graphql-ws")

PROGRESS = """
subscription Progress($id: Int!) {
  broadcastProgress(id: $id) { broadcastId status total sent failed blocked pending rate eta }
}
"""


def progress(
    broadcast_id: int,
    status: str,
    *,
    sent: int,
    pending: int,
    failed: int = 0,
    blocked: int = 0,
    rate: float | None = None,
    eta: float | None = None,
) -> dict[str, Any]:
    """A message as the engine publishes it on `broadcast_channel(id)`."""
    return {
        "broadcast_id": broadcast_id,
        "status": status,
        "total": sent + pending + failed + blocked,
        "sent": sent,
        "failed": failed,
        "blocked": blocked,
        "pending": pending,
        "rate": rate,
        "eta": eta,
    }


def as_graphql(message: dict[str, Any]) -> dict[str, Any]:
    """What the subscription sends for a channel message."""
    return {
        "broadcastId": message["broadcast_id"],
        "status": message["status"].upper(),
        **{key: message[key] for key in ("total", "sent", "failed", "blocked", "pending")},
        "rate": message["rate"],
        "eta": message["eta"],
    }


class Socket:
    """A graphql-transport-ws client over a real WebSocket, with every wait bounded."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self) -> dict[str, Any]:
        async with asyncio.timeout(WAIT):
            return await self.receive_quietly()

    async def receive_quietly(self) -> dict[str, Any]:
        """The next message however long it takes (pings answered), for quiet broadcasts."""
        while True:
            message: dict[str, Any] = json.loads(await self.connection.recv())
            if message["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            return message

    async def subscribe(self, broadcast_id: int, operation_id: str = "1") -> None:
        await self.send(
            {
                "id": operation_id,
                "type": "subscribe",
                "payload": {"query": PROGRESS, "variables": {"id": broadcast_id}},
            }
        )

    async def next_progress(self, operation_id: str = "1") -> dict[str, Any]:
        message = await self.receive()
        assert message["type"] == "next" and message["id"] == operation_id, message
        assert "errors" not in message["payload"], message
        data: dict[str, Any] = message["payload"]["data"]["broadcastProgress"]
        return data


@asynccontextmanager
async def socket(server: RunningServer, token: str | None) -> AsyncIterator[Socket]:
    """Connected and acknowledged, with `Authorization: Bearer <token>` in connection_init."""
    url = "ws" + server.url.removeprefix("http") + "/graphql"
    payload = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with connect(url, subprotocols=[PROTOCOL], open_timeout=WAIT) as connection:
        assert connection.subprotocol == PROTOCOL
        client = Socket(connection)
        await client.send({"type": "connection_init", "payload": payload})
        assert (await client.receive())["type"] == "connection_ack"
        yield client


async def make_sending_broadcast(
    sessions: async_sessionmaker[AsyncSession],
    deliveries: list[DeliveryStatus],
    status: BroadcastStatus = BroadcastStatus.SENDING,
) -> int:
    """A broadcast in `status` with one delivery row per entry of `deliveries`.

    Its id is random and large: Redis channels are global to the Redis server,
    so a fixed id could meet another test run's messages there.
    """
    broadcast_id = 10**8 + secrets.randbelow(9 * 10**8)
    async with sessions() as session, session.begin():
        session.add(
            Broadcast(
                id=broadcast_id,
                title="Весенняя распродажа",
                text="Привет, {first_name}!",
                status=status,
                started_at=utcnow() - timedelta(minutes=5),
                rules_snapshot={"status": ["active"]},
            )
        )
        await session.flush()
        for delivery_status in deliveries:
            customer = await make_customer(session)
            session.add(
                BroadcastDelivery(
                    broadcast_id=broadcast_id,
                    customer_id=customer.id,
                    status=delivery_status,
                    attempts=0 if delivery_status is DeliveryStatus.PENDING else 1,
                    sent_at=utcnow() if delivery_status is DeliveryStatus.SENT else None,
                )
            )
    return broadcast_id


def token_of(client: GraphQLClient) -> str:
    assert client.token is not None
    return client.token


async def subscribers(pubsub: PubSub, broadcast_id: int) -> int:
    channel = broadcast_channel(broadcast_id)
    if isinstance(pubsub, InProcessPubSub):
        return pubsub.subscriber_count(channel)
    assert isinstance(pubsub, RedisPubSub)
    return await pubsub.subscriber_count(channel)


async def until_no_subscribers(pubsub: PubSub, broadcast_id: int) -> None:
    """Poll: leaving is asynchronous, and nothing signals when it is done."""
    async with asyncio.timeout(WAIT):
        while True:
            if not await subscribers(pubsub, broadcast_id):
                return
            await asyncio.sleep(0.01)


@pytest.fixture
async def half_sent(sessions: async_sessionmaker[AsyncSession]) -> int:
    """A sending broadcast with one message out and one to go; its id."""
    return await make_sending_broadcast(sessions, [DeliveryStatus.SENT, DeliveryStatus.PENDING])


def viewing(
    server: RunningServer, staff: dict[AdminRole, GraphQLClient]
) -> AbstractAsyncContextManager[Socket]:
    """A socket of the read-only admin's, who watches progress (see `socket`)."""
    return socket(server, token_of(staff[AdminRole.READONLY]))


async def watch_steps(
    ws: Socket, broadcast_id: int, steps: list[dict[str, Any]], publisher: PubSub
) -> dict[str, Any]:
    """Subscribe; then each of `steps`, published by `publisher` as the engine would, must
    arrive as it was sent, and the subscription end after them. Returns the snapshot that
    came first."""
    await ws.subscribe(broadcast_id)
    snapshot = await ws.next_progress()
    for step in steps:
        await publisher.publish(broadcast_channel(broadcast_id), step)
    seen = [await ws.next_progress() for _ in steps]
    finished = await ws.receive()
    assert seen == [as_graphql(step) for step in steps]
    assert finished == COMPLETE
    return snapshot


async def test_a_viewer_gets_the_snapshot_then_each_published_step_until_completed(
    server: RunningServer,
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    pending, sent = DeliveryStatus.PENDING, DeliveryStatus.SENT
    broadcast_id = await make_sending_broadcast(sessions, [sent, pending, pending, pending])
    steps = [
        progress(broadcast_id, "sending", sent=2, pending=2, rate=1.5, eta=1.3),
        progress(broadcast_id, "sending", sent=3, pending=1, rate=1.5, eta=0.7),
        progress(broadcast_id, "completed", sent=3, blocked=1, pending=0, rate=1.4, eta=0.0),
    ]

    async with viewing(server, staff) as ws:
        snapshot = await watch_steps(ws, broadcast_id, steps, server.runtime.pubsub)

    assert snapshot == as_graphql(progress(broadcast_id, "sending", sent=1, pending=3))
    await until_no_subscribers(server.runtime.pubsub, broadcast_id)


async def test_a_pause_and_a_cancel_show_up_live(
    server: RunningServer, staff: dict[AdminRole, GraphQLClient], half_sent: int
) -> None:
    broadcast_id = half_sent
    marketer = staff[AdminRole.MARKETING]
    action = "mutation($id: Int!) { %s(id: $id) { status } }"

    async with viewing(server, staff) as ws:
        await ws.subscribe(broadcast_id)
        assert (await ws.next_progress())["status"] == "SENDING"
        assert (await marketer(action % "pauseBroadcast", id=broadcast_id)).data
        paused = await ws.next_progress()
        assert (await marketer(action % "cancelBroadcast", id=broadcast_id)).data
        cancelled = await ws.next_progress()
        finished = await ws.receive()

    assert paused == {
        "broadcastId": broadcast_id,
        "status": "PAUSED",
        "total": 2,
        "sent": 1,
        "failed": 0,
        "blocked": 0,
        "pending": 1,
        "rate": None,
        "eta": None,
    }
    assert cancelled == {**paused, "status": "CANCELLED"}
    assert finished == COMPLETE


async def test_a_finished_broadcast_gives_its_snapshot_and_completes(
    server: RunningServer,
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    broadcast_id = await make_sending_broadcast(
        sessions, [DeliveryStatus.SENT, DeliveryStatus.FAILED], BroadcastStatus.COMPLETED
    )

    async with viewing(server, staff) as ws:
        await ws.subscribe(broadcast_id)
        snapshot = await ws.next_progress()
        finished = await ws.receive()

    assert snapshot["status"] == "COMPLETED" and snapshot["failed"] == 1
    assert finished == COMPLETE
    assert await subscribers(server.runtime.pubsub, broadcast_id) == 0


async def test_a_viewer_who_leaves_early_unsubscribes_and_skips_odd_messages(
    server: RunningServer,
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    broadcast_id = await make_sending_broadcast(sessions, [DeliveryStatus.PENDING])
    channel = broadcast_channel(broadcast_id)
    step = progress(broadcast_id, "sending", sent=1, pending=0)

    async with viewing(server, staff) as ws:
        await ws.subscribe(broadcast_id)
        await ws.next_progress()
        assert await subscribers(server.runtime.pubsub, broadcast_id) == 1
        await server.runtime.pubsub.publish(channel, {"status": "no-such-status"})
        await server.runtime.pubsub.publish(channel, step)
        assert await ws.next_progress() == as_graphql(step)
        await ws.send({"id": "1", "type": "complete"})
        await until_no_subscribers(server.runtime.pubsub, broadcast_id)


@pytest.mark.parametrize("token", [None, "not-a-jwt"], ids=["no token", "invalid token"])
async def test_without_a_valid_token_the_socket_is_closed_before_it_can_subscribe(
    server: RunningServer, sessions: async_sessionmaker[AsyncSession], token: str | None
) -> None:
    broadcast_id = await make_sending_broadcast(sessions, [])
    url = "ws" + server.url.removeprefix("http") + "/graphql"
    payload = {"Authorization": f"Bearer {token}"} if token is not None else {}

    async with connect(url, subprotocols=[PROTOCOL], open_timeout=WAIT) as connection:
        await connection.send(json.dumps({"type": "connection_init", "payload": payload}))
        async with asyncio.timeout(WAIT):
            await connection.wait_closed()

    assert (connection.close_code, connection.close_reason) == (4403, "Forbidden")
    assert await subscribers(server.runtime.pubsub, broadcast_id) == 0


async def test_a_client_of_the_legacy_graphql_ws_protocol_is_refused(
    server: RunningServer, staff: dict[AdminRole, GraphQLClient]
) -> None:
    """Only graphql-transport-ws is spoken (frontend-contract/README.md): the legacy
    `graphql-ws` subprotocol is not agreed to, and the socket is closed before any
    message, even an admin's."""
    url = "ws" + server.url.removeprefix("http") + "/graphql"
    async with connect(url, subprotocols=[LEGACY_PROTOCOL], open_timeout=WAIT) as connection:
        assert connection.subprotocol is None
        async with asyncio.timeout(WAIT):
            with pytest.raises(ConnectionClosed):
                await connection.recv()

    assert (connection.close_code, connection.close_reason) == (4406, "Subprotocol not acceptable")
    async with viewing(server, staff):
        pass  # the same admin on graphql-transport-ws is welcome


async def test_an_unknown_broadcast_is_not_found(
    server: RunningServer, staff: dict[AdminRole, GraphQLClient]
) -> None:
    async with viewing(server, staff) as ws:
        await ws.subscribe(987_654_321)
        answer = await ws.receive()
        finished = await ws.receive()

    assert answer["type"] == "next" and answer["payload"]["data"] is None, answer
    errors = answer["payload"]["errors"]
    assert [error.get("extensions", {}).get("code") for error in errors] == ["NOT_FOUND"], answer
    assert finished == COMPLETE


@pytest.fixture
async def redis_server(engine: AsyncEngine) -> AsyncIterator[RunningServer]:
    """A second server on the same database whose pub/sub is Redis."""
    probe = RedisPubSub(REDIS_URL)
    try:
        await probe.ping()
    except Exception as error:
        unavailable("Redis", error)
    finally:
        await probe.close()
    async with serve(settings_for(engine, redis_url=REDIS_URL)) as running:
        yield running


async def test_progress_published_through_redis_reaches_the_viewer(
    redis_server: RunningServer,
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert isinstance(redis_server.runtime.pubsub, RedisPubSub)
    broadcast_id = await make_sending_broadcast(sessions, [DeliveryStatus.PENDING] * 2)
    steps = [
        progress(broadcast_id, "sending", sent=1, pending=1, rate=2.0, eta=0.5),
        progress(broadcast_id, "completed", sent=1, failed=1, pending=0, rate=2.0, eta=0.0),
    ]
    engine_side = RedisPubSub(REDIS_URL)  # as the engine would: another process, another client
    try:
        async with viewing(redis_server, staff) as ws:
            snapshot = await watch_steps(ws, broadcast_id, steps, engine_side)
        await until_no_subscribers(engine_side, broadcast_id)
    finally:
        await engine_side.close()

    assert snapshot == as_graphql(progress(broadcast_id, "sending", sent=0, pending=2))
