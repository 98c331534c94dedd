"""Anonymous callers cannot spend the API's memory, CPU or sockets (issue 12, items 4 and 8).

Before: a 20 MB GraphQL comment was read whole and cost 3.7 s of event-loop
CPU, four 100 MB bodies took the API to 1.16 GB, webhooks took 50 MB, and a
WebSocket whose `connection_init` carried no token was acknowledged and held
open for as long as its owner liked, as many as they liked.

The body and socket tests talk to `dvorik serve` as its own process (the
uvicorn options of `serve` are part of what is tested: no proxy handling of
its own, `ws_max_size`), over raw sockets where a normal client would hide
what matters: how much of an upload the server took before it answered.
Different client addresses are real: Linux routes all of 127.0.0.0/8 to the
loopback, so a test connects *from* 127.0.0.3 as another machine would.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from backend.fake_telegram import FakeTelegram, create_app
from backend.settings import Environment, LogFormat, Settings
from backend.socket_limits import CONNECTION_INIT_WAIT
from tests.api import environment_for, serve, serve_app, settings_for, signed_in
from tests.processes import DVORIK, free_port, rss_bytes, spawn, tail, terminate, wait_until_serving
from tests.telegram_world import SECRET, bots_environment

WAIT = 15.0  # seconds for anything the server should do at once; generous for a slow machine
PROTOCOL = Subprotocol("graphql-transport-ws")
MB = 1_000_000
GRAPHQL_LIMIT = Settings.model_fields["graphql_max_body_bytes"].default
WEBHOOK_LIMIT = Settings.model_fields["webhook_max_body_bytes"].default
SOCKETS_PER_IP = Settings.model_fields["websocket_max_per_ip"].default

# Loopback addresses, one per test that counts sockets, so no test sees another's.
FORGER = "127.0.0.1"  # the peer uvicorn's own proxy handling trusted by default
ANONYMOUS = "127.0.0.2"
CROWD = "127.0.0.3"
NEIGHBOUR = "127.0.0.4"
PROXY = "127.0.0.5"
STRANGER = "127.0.0.6"
SILENT = "127.0.0.7"
GIANT = "127.0.0.8"


@dataclass
class Api:
    """A `dvorik serve` process and its log."""

    url: str
    process: Popen[bytes]
    log: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http") + "/graphql"


@asynccontextmanager
async def dvorik_serve(engine: AsyncEngine, log: Path, **settings: str) -> AsyncIterator[Api]:
    """`dvorik serve` on `engine`'s database with both bots on a fake Telegram."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    async with serve_app(create_app(FakeTelegram())) as fake_url:
        env = environment_for(engine, **bots_environment(fake_url), **settings)
        process = spawn([*DVORIK, "serve", "--port", str(port)], env, log)
        try:
            await wait_until_serving(f"{url}/health", process, log)
            yield Api(url, process, log)
        finally:
            terminate(process)


@pytest.fixture(scope="module")
async def api(engine: AsyncEngine, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    """One API process per database for this module, with the default limits."""
    log = tmp_path_factory.mktemp("input-limits") / "api.log"
    async with dvorik_serve(engine, log) as running:
        yield running


# --- Request bodies ------------------------------------------------------------------------


@dataclass
class Upload:
    """What a raw HTTP client saw while it pushed a body at the server."""

    status: int
    body: dict[str, Any]
    sent: int  # body bytes the kernel took from the client before the server cut it off
    closed: bool  # the server closed the connection after its answer


def graphql_comment(size: int) -> Iterator[bytes]:
    """A valid GraphQL request of `size` bytes: a comment, then `{ __typename }`."""
    head, tail_ = b'{"query": "#', b'\\n{ __typename }"}'
    yield head
    left = size - len(head) - len(tail_)
    piece = b"x" * 65_536
    while left > 0:
        yield piece[:left]
        left -= len(piece)
    yield tail_


def upload(api: Api, path: str, body: Iterator[bytes], *, length: int | None) -> Upload:
    """POST `body` over a raw socket, reading the answer while it is being sent.

    With `length` the request declares it (Content-Length), else it is chunked.
    The client stops sending once the server closes the connection; a server
    that reads everything gets everything.
    """
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{api.port}",
        "Content-Type: application/json",
        f"X-Telegram-Bot-Api-Secret-Token: {SECRET}",
        "Connection: close",
        f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked",
    ]
    received = bytearray()
    with socket.create_connection(("127.0.0.1", api.port), timeout=WAIT) as sock:

        def read() -> None:
            while True:
                try:
                    data = sock.recv(65_536)
                except OSError:  # reset after the answer, or the read timed out
                    return
                if not data:
                    return
                received.extend(data)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        sent = 0
        try:
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            for piece in body:
                framed = piece if length is not None else b"%x\r\n%s\r\n" % (len(piece), piece)
                sock.sendall(framed)
                sent += len(piece)
            if length is None:
                sock.sendall(b"0\r\n\r\n")
        except OSError:  # the server closed the connection: it has read all it will
            pass
        reader.join(WAIT)
        closed = not reader.is_alive()
    head_bytes, _, payload = bytes(received).partition(b"\r\n\r\n")
    assert head_bytes, f"no answer after {sent:,} bytes sent"
    status = int(head_bytes.split(b" ", 2)[1])
    return Upload(status, json.loads(payload), sent, closed)


async def test_an_anonymous_20_mb_graphql_comment_is_refused_with_413_before_it_is_read(
    api: Api,
) -> None:
    size = 20 * MB
    first_64_kb = iter([next(graphql_comment(size)), b"x" * 65_536])

    # The client declares 20 MB but sends only the first 64 kB, then waits for an answer.
    refused = await asyncio.to_thread(upload, api, "/graphql", first_64_kb, length=size)

    assert refused.status == 413, tail(api.log)
    assert refused.body == {
        "errors": [
            {
                "message": f"request body larger than {GRAPHQL_LIMIT} bytes",
                "extensions": {"code": "PAYLOAD_TOO_LARGE"},
            }
        ]
    }
    assert refused.closed  # nobody waits for the other 19.9 MB
    # A body under the limit still works: half a megabyte of variables (the document
    # itself has its own, smaller limit, tests/graphql/test_graphql_limits.py).
    async with httpx.AsyncClient(base_url=api.url, timeout=WAIT) as http:
        padding = "x" * (GRAPHQL_LIMIT // 2)
        fine = await http.post(
            "/graphql", json={"query": "{ __typename }", "variables": {"padding": padding}}
        )
    assert fine.json() == {"data": {"__typename": "Query"}}


async def test_a_50_mb_comment_streamed_without_a_length_is_cut_off_at_the_limit(
    api: Api,
) -> None:
    size = 50 * MB
    memory_before = rss_bytes(api.process.pid)

    refused = await asyncio.to_thread(upload, api, "/graphql", graphql_comment(size), length=None)

    grown = rss_bytes(api.process.pid) - memory_before
    assert refused.status == 413
    assert refused.body["errors"][0]["extensions"] == {"code": "PAYLOAD_TOO_LARGE"}
    assert refused.closed
    # The rest never left the client: the server stopped reading and closed the
    # connection (what got through sits in the two kernels' socket buffers).
    assert refused.sent < size / 2, f"{refused.sent:,} of {size:,} bytes were taken"
    assert grown < 20 * MB, f"the API grew by {grown:,} bytes"
    print(
        f"\n50 MB streamed to /graphql: refused after {refused.sent:,} bytes,"
        f" API memory {grown / MB:+.1f} MB"
    )


async def test_a_50_mb_webhook_body_is_refused_without_being_buffered(api: Api) -> None:
    size = 50 * MB
    body = json.dumps({"update_id": 1, "message": {"text": "x" * size}}).encode()
    async with httpx.AsyncClient(base_url=api.url, timeout=WAIT) as http:
        small = await http.post(
            "/telegram/customer", json={}, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
    assert small.json() == {"ok": True}  # an unreadable update is ignored, as before
    memory_before = rss_bytes(api.process.pid)

    pieces = (body[start : start + 65_536] for start in range(0, len(body), 65_536))
    refused = await asyncio.to_thread(upload, api, "/telegram/customer", pieces, length=None)

    grown = rss_bytes(api.process.pid) - memory_before
    assert refused.status == 413
    assert refused.body == {
        "error": f"request body larger than {WEBHOOK_LIMIT} bytes",
        "code": "PAYLOAD_TOO_LARGE",
    }
    assert refused.sent < size / 2, f"{refused.sent:,} of {size:,} bytes were taken"
    assert grown < 20 * MB, f"the API grew by {grown:,} bytes"
    print(
        f"\n50 MB streamed to a webhook: refused after {refused.sent:,} bytes,"
        f" API memory {grown / MB:+.1f} MB"
    )


# --- WebSockets ----------------------------------------------------------------------------


@asynccontextmanager
async def socket_from(
    api: Api, source: str, forwarded_for: str | None = None
) -> AsyncIterator[ClientConnection]:
    """A graphql-transport-ws socket opened from `source` (a loopback address)."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else None
    async with connect(
        api.ws_url,
        subprotocols=[PROTOCOL],
        additional_headers=headers,
        open_timeout=WAIT,
        proxy=None,
        local_addr=(source, 0),
    ) as connection:
        yield connection


async def answer(ws: ClientConnection, token: str | None, payload: Any = None) -> str:
    """Send connection_init; the server's answer: "connection_ack" or "closed <code>"."""
    if payload is None:
        payload = {"Authorization": f"Bearer {token}"} if token is not None else {}
    try:
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        async with asyncio.timeout(WAIT):
            message: dict[str, Any] = json.loads(await ws.recv())
    except ConnectionClosed:
        return f"closed {ws.close_code}"
    return str(message["type"])


async def until_admitted(api: Api, source: str, token: str) -> None:
    """Poll: the server counts a socket as gone once its handler has returned."""
    async with asyncio.timeout(WAIT):
        while True:
            async with socket_from(api, source) as ws:
                if await answer(ws, token) == "connection_ack":
                    return
            await asyncio.sleep(0.05)


async def test_a_socket_without_a_token_is_closed_with_4403(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    token = await signed_in(sessions)
    answers = {}
    for name, sent in {"no token": None, "not a token": "not-a-jwt", "an admin's": token}.items():
        async with socket_from(api, ANONYMOUS) as ws:
            answers[name] = await answer(ws, sent)
            if answers[name] != "connection_ack":
                assert ws.close_reason == "Forbidden"

    assert answers == {
        "no token": "closed 4403",
        "not a token": "closed 4403",
        "an admin's": "connection_ack",
    }


async def test_the_21st_socket_from_one_ip_is_refused_while_another_ip_connects(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    token = await signed_in(sessions)
    async with AsyncExitStack() as stack:
        crowd = [
            await stack.enter_async_context(socket_from(api, CROWD)) for _ in range(SOCKETS_PER_IP)
        ]
        assert [await answer(ws, token) for ws in crowd] == ["connection_ack"] * SOCKETS_PER_IP
        one_more = await stack.enter_async_context(socket_from(api, CROWD))
        neighbour = await stack.enter_async_context(socket_from(api, NEIGHBOUR))

        assert await answer(one_more, token) == "closed 4429"
        assert one_more.close_reason == "too many open sockets from this address"
        assert await answer(neighbour, token) == "connection_ack"

        await crowd[0].close()  # one leaves: the next one from that address gets in
        await until_admitted(api, CROWD, token)


async def test_a_socket_that_never_sends_connection_init_is_closed_after_the_timeout(
    api: Api,
) -> None:
    async with socket_from(api, SILENT) as ws:
        opened = time.monotonic()
        async with asyncio.timeout(WAIT + CONNECTION_INIT_WAIT.total_seconds()):
            await ws.wait_closed()
        waited = time.monotonic() - opened

    # 4408 is Strawberry's "Connection initialisation timeout"; before, it came after a minute.
    assert (ws.close_code, ws.close_reason) == (4408, "Connection initialisation timeout")
    print(f"\nsilent socket closed with 4408 after {waited:.1f} s")


async def test_a_socket_message_over_the_body_limit_is_refused(api: Api) -> None:
    async with socket_from(api, GIANT) as ws:
        closed = await answer(ws, None, payload={"padding": "x" * (GRAPHQL_LIMIT + 1)})

    assert closed == "closed 1009"  # message too big: uvicorn's ws_max_size


# --- The client's address ------------------------------------------------------------------


async def test_a_forged_x_forwarded_for_does_not_change_the_client_address(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    token = await signed_in(sessions)
    async with AsyncExitStack() as stack:
        disguised = [
            await stack.enter_async_context(socket_from(api, FORGER, f"198.51.100.{number}"))
            for number in range(1, SOCKETS_PER_IP + 2)
        ]
        answers = [await answer(ws, token) for ws in disguised]

    # TRUSTED_PROXIES is unset: every socket is 127.0.0.1's, whatever the header says.
    assert answers == ["connection_ack"] * SOCKETS_PER_IP + ["closed 4429"]


async def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    token = await signed_in(sessions)
    settings = {"TRUSTED_PROXIES": f"{PROXY}/32", "WEBSOCKET_MAX_PER_IP": "1"}
    async with dvorik_serve(engine, tmp_path / "api.log", **settings) as proxied:

        async def answers(sources: list[tuple[str, str]]) -> list[str]:
            async with AsyncExitStack() as stack:
                sockets = [
                    await stack.enter_async_context(socket_from(proxied, peer, forwarded))
                    for peer, forwarded in sources
                ]
                return [await answer(ws, token) for ws in sockets]

        through_the_proxy = await answers(
            [(PROXY, "203.0.113.1"), (PROXY, "203.0.113.2"), (PROXY, "203.0.113.1")]
        )
        from_a_stranger = await answers([(STRANGER, "203.0.113.3"), (STRANGER, "203.0.113.4")])

    # Two clients behind the proxy get a socket each; the first one's second is refused.
    assert through_the_proxy == ["connection_ack", "connection_ack", "closed 4429"]
    # A peer that is not a listed proxy is its own address, whatever it forwards.
    assert from_a_stranger == ["connection_ack", "closed 4429"]


# --- API docs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environment", "api_docs", "served"),
    [
        (Environment.PRODUCTION, None, False),
        (Environment.PRODUCTION, True, True),
        (Environment.DEVELOPMENT, None, True),
        (Environment.DEVELOPMENT, False, False),
    ],
    ids=["production", "production with API_DOCS=true", "development", "API_DOCS=false"],
)
async def test_production_hides_api_docs_unless_api_docs_is_true(
    engine: AsyncEngine, environment: Environment, api_docs: bool | None, served: bool
) -> None:
    # The environment alone is switched: the rest of production (MariaDB, Redis,
    # bot tokens) does not bear on the docs and would make this MariaDB-only.
    settings = settings_for(engine, api_docs=api_docs, log_format=LogFormat.CONSOLE).model_copy(
        update={"environment": environment}
    )
    async with serve(settings) as server, httpx.AsyncClient(base_url=server.url) as http:
        statuses = {
            path: (await http.get(path)).status_code
            for path in ("/api/docs", "/api/redoc", "/api/openapi.json")
        }
        health = await http.get("/health")

    expected = 200 if served else 404
    assert statuses == dict.fromkeys(statuses, expected)
    assert health.status_code == 200
    assert "/health" in server.app.openapi()["paths"]  # still there for tests and tools
