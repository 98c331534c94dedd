"""A sign-out closes the admin's open WebSockets with 4403 within a second (issue 17).

Admins watch a broadcast's progress over a real socket; one of them logs out
over HTTP (or is deactivated, or their token runs out), and their socket is
closed at once, while another admin's keeps streaming. Embedded, the logout
reaches the socket through the server's in-process pub/sub; with Redis, the
logout is handled by one API server and the socket held by another.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from websockets.exceptions import ConnectionClosed

from backend.domain import sign_in
from backend.domain.clock import utcnow
from backend.domain.models import Admin, AdminRole, DeliveryStatus
from backend.graphql import tokens
from backend.pubsub import RedisPubSub, broadcast_channel
from tests.api import JWT_SECRET, GraphQLClient, RunningServer, serve, settings_for
from tests.databases import unavailable
from tests.graphql.test_graphql_subscriptions import (
    REDIS_URL,
    WAIT,
    Socket,
    as_graphql,
    make_sending_broadcast,
    progress,
    socket,
    token_of,
)
from tests.timing import LoopLag

PROMPTLY = 1.0  # seconds from the answer to the logout to the closed socket, plus the loop's lag


async def watching(ws: Socket, broadcast_id: int) -> Socket:
    """`ws` subscribed to the broadcast's progress, its first snapshot received."""
    await ws.subscribe(broadcast_id)
    assert (await ws.next_progress())["broadcastId"] == broadcast_id
    return ws


async def closed_within(ws: Socket, lag: LoopLag) -> tuple[int | None, str | None, float]:
    """Wait for the server to close `ws`: its close code, reason and how long it took.

    Only progress may arrive before the close (a snapshot the server sent just before).
    """
    loop = asyncio.get_running_loop()
    began = loop.time()
    async with asyncio.timeout(WAIT):
        while True:
            try:
                message: dict[str, Any] = json.loads(await ws.connection.recv())
            except ConnectionClosed:
                break
            assert message["type"] in ("next", "ping"), message
    took = loop.time() - began
    assert took <= PROMPTLY + lag.margin, f"closed after {took:.2f} s"
    return ws.connection.close_code, ws.connection.close_reason, took


async def closed_within_after(
    ws: Socket, lag: LoopLag, seconds: float
) -> tuple[int | None, str | None, float]:
    """`closed_within`, counted from `seconds` from now (when the server is due to close it)."""
    await asyncio.sleep(max(seconds, 0.0))
    return await closed_within(ws, lag)


async def still_streams(ws: Socket, server: RunningServer, broadcast_id: int) -> None:
    """The engine publishes a step and `ws` shows it: that socket is open and subscribed."""
    step = progress(broadcast_id, "sending", sent=2, pending=0, rate=1.0, eta=0.0)
    await server.runtime.pubsub.publish(broadcast_channel(broadcast_id), step)
    async with asyncio.timeout(WAIT):
        while (shown := await ws.next_progress())["sent"] != 2:
            continue
    assert shown == as_graphql(step)


async def admin_of(sessions: async_sessionmaker[AsyncSession], client: GraphQLClient) -> Admin:
    """The admin `client` is signed in as."""
    claims = tokens.decode(token_of(client), secret=JWT_SECRET, now=utcnow())
    async with sessions() as session:
        admin = await session.get(Admin, claims.admin_id)
    assert admin is not None
    return admin


@pytest.fixture
async def half_sent(sessions: async_sessionmaker[AsyncSession]) -> int:
    return await make_sending_broadcast(sessions, [DeliveryStatus.SENT, DeliveryStatus.PENDING])


async def test_a_logout_closes_that_tokens_sockets_with_4403_and_no_one_elses(
    server: RunningServer,
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
    half_sent: int,
) -> None:
    viewer, marketer = staff[AdminRole.READONLY], staff[AdminRole.MARKETING]
    other_device = tokens.issue(await admin_of(sessions, viewer), secret=JWT_SECRET, now=utcnow())
    async with (
        LoopLag() as lag,
        socket(server, token_of(viewer)) as first_tab,
        socket(server, token_of(viewer)) as second_tab,
        socket(server, other_device.token) as phone,
        socket(server, token_of(marketer)) as colleague,
    ):
        for ws in (first_tab, second_tab, phone, colleague):
            await watching(ws, half_sent)

        assert (await viewer("mutation { logout }")).data == {"logout": True}
        first = await closed_within(first_tab, lag)
        second = await closed_within(second_tab, lag)

        await still_streams(colleague, server, half_sent)
        await still_streams(phone, server, half_sent)

    assert first[:2] == second[:2] == (4403, "Signed out")


async def test_deactivating_an_admin_closes_every_socket_of_theirs(
    server: RunningServer,
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
    half_sent: int,
) -> None:
    owner, marketer = staff[AdminRole.OWNER], staff[AdminRole.MARKETING]
    admin = await admin_of(sessions, marketer)
    other_device = tokens.issue(admin, secret=JWT_SECRET, now=utcnow()).token
    switch_off = (
        "mutation($id: Int!) { updateAdmin(id: $id, input: {isActive: false}) { isActive } }"
    )

    async with (
        LoopLag() as lag,
        socket(server, token_of(marketer)) as laptop,
        socket(server, other_device) as phone,
        socket(server, token_of(owner)) as owners,
    ):
        for ws in (laptop, phone, owners):
            await watching(ws, half_sent)

        answer = await owner(switch_off, id=admin.id)
        closes = [await closed_within(laptop, lag), await closed_within(phone, lag)]

        await still_streams(owners, server, half_sent)

    assert answer.data == {"updateAdmin": {"isActive": False}}
    assert [close[:2] for close in closes] == [(4403, "Admin deactivated")] * 2


async def test_a_socket_is_closed_when_its_token_expires(
    server: RunningServer,
    sessions: async_sessionmaker[AsyncSession],
    staff: dict[AdminRole, GraphQLClient],
    half_sent: int,
) -> None:
    viewer = staff[AdminRole.READONLY]
    admin = await admin_of(sessions, viewer)
    # Issued almost 24 hours ago: two seconds to live (`exp` is whole seconds).
    short = tokens.issue(
        admin, secret=JWT_SECRET, now=utcnow() - tokens.LIFETIME + timedelta(seconds=2)
    )

    async with LoopLag() as lag, socket(server, short.token) as ws:
        await watching(ws, half_sent)
        until_expiry = (short.expires_at - utcnow()).total_seconds()
        code, reason, _ = await closed_within_after(ws, lag, until_expiry)

    assert (code, reason) == (4403, "Token expired")


async def test_a_socket_not_told_of_its_logout_is_still_refused_at_the_next_subscribe(
    server: RunningServer,
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
    half_sent: int,
) -> None:
    """A sign-out announced while Redis was down reaches no socket; the database still
    says no when the socket subscribes again (here: revoked with no announcement)."""
    viewer = staff[AdminRole.READONLY]
    claims = tokens.decode(token_of(viewer), secret=JWT_SECRET, now=utcnow())
    async with socket(server, token_of(viewer)) as ws:
        await watching(ws, half_sent)
        async with sessions() as session, session.begin():
            await sign_in.revoke(session, claims.jti, expires_at=claims.expires_at)
        await ws.subscribe(half_sent, operation_id="2")
        refused = await ws.receive()

    assert refused["type"] == "error" and refused["id"] == "2", refused
    assert refused["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.fixture
async def two_api_servers(
    engine: AsyncEngine,
) -> AsyncIterator[tuple[RunningServer, RunningServer]]:
    """Two API servers on one database with Redis pub/sub, as `compose.yaml` can run them."""
    probe = RedisPubSub(REDIS_URL)
    try:
        await probe.ping()
    except Exception as error:
        unavailable("Redis", error)
    finally:
        await probe.close()
    async with (
        serve(settings_for(engine, redis_url=REDIS_URL)) as first,
        serve(settings_for(engine, redis_url=REDIS_URL)) as second,
    ):
        yield first, second


async def test_a_logout_on_one_api_server_closes_the_socket_another_holds(
    two_api_servers: tuple[RunningServer, RunningServer],
    staff: dict[AdminRole, GraphQLClient],
    half_sent: int,
) -> None:
    handles_logout, holds_sockets = two_api_servers
    viewer, marketer = staff[AdminRole.READONLY], staff[AdminRole.MARKETING]
    async with (
        LoopLag() as lag,
        socket(holds_sockets, token_of(viewer)) as viewers,
        socket(holds_sockets, token_of(marketer)) as colleague,
    ):
        for ws in (viewers, colleague):
            await watching(ws, half_sent)

        async with httpx.AsyncClient(base_url=handles_logout.url, timeout=WAIT) as http:
            logout = await GraphQLClient(http, viewer.token)("mutation { logout }")
        code, reason, _ = await closed_within(viewers, lag)

        await still_streams(colleague, holds_sockets, half_sent)

    assert logout.data == {"logout": True}
    assert (code, reason) == (4403, "Signed out")
    assert handles_logout.url != holds_sockets.url
