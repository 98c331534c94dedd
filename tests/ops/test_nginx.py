"""deploy/nginx/dvorik.conf in front of a real `dvorik serve`, over TLS on loopback.

The site file passes `nginx -t` inside Debian's nginx.conf; then Debian's
nginx runs it in front of `dvorik serve` (SQLite, both bots on the fake Bot
API) and everything the internet may do goes through it: an admin signs in
over HTTPS, watches a broadcast over wss (graphql-transport-ws), Telegram
posts to both webhooks and the bots' replies arrive. The client's address
reaches the app through X-Forwarded-For (TRUSTED_PROXIES=127.0.0.1), a forged
one does not; /metrics and /internal/* are refused, however spelled; bodies
over the ceilings get 413 from nginx. How the site is rendered for the test:
tests/reverse_proxy.py.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from subprocess import Popen
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from backend.domain.clock import utcnow
from backend.domain.database import create_sessionmaker
from backend.domain.models import AdminRole, Broadcast, BroadcastStatus, LoginAttempt
from backend.fake_telegram import FakeTelegram, FakeUser, create_app
from backend.fake_telegram.updates import text_message
from backend.settings import Settings
from tests.api import INTERNAL_API_KEY, LOGIN, environment_for, serve_app
from tests.databases import fresh_database, run_alembic
from tests.factories import make_admin
from tests.processes import (
    DVORIK,
    free_port,
    spawn,
    tail,
    terminate,
    wait_until,
    wait_until_serving,
)
from tests.reverse_proxy import (
    Layout,
    check_configuration,
    make_certificate,
    nginx_command,
    write_configuration,
)
from tests.telegram_world import CASHIER_TOKEN, CUSTOMER_TOKEN, SECRET, bots_environment

pytestmark = pytest.mark.slow

WAIT = 20.0  # seconds for anything that should happen at once; generous for a slow machine
QUIET = 75.0  # seconds of silence on a socket: past nginx's 60-second proxy_read_timeout
PROTOCOL = Subprotocol("graphql-transport-ws")
CLIENT = "127.0.0.5"  # the loopback address the test's clients connect from
PASSWORD = "correct horse battery"
MB = 1_000_000
GRAPHQL_LIMIT = Settings.model_fields["graphql_max_body_bytes"].default
WEBHOOK_LIMIT = Settings.model_fields["webhook_max_body_bytes"].default
EMAIL = "owner@dvorik.test"


@dataclass
class Site:
    """nginx on the rendered site in front of `dvorik serve`, and what the test needs of both."""

    layout: Layout
    fake: FakeTelegram
    sessions: async_sessionmaker[AsyncSession]

    @property
    def https(self) -> str:
        return f"https://127.0.0.1:{self.layout.https_port}"

    @property
    def api(self) -> str:
        return self.layout.api_url

    @property
    def tls(self) -> ssl.SSLContext:
        return self.layout.certificate.client_context()

    def client(self, source: str = CLIENT) -> httpx.AsyncClient:
        """An HTTPS client through nginx from `source`, trusting only the test's CA."""
        transport = httpx.AsyncHTTPTransport(verify=self.tls, local_address=source)
        return httpx.AsyncClient(
            base_url=self.https, transport=transport, timeout=WAIT, trust_env=False
        )

    def failure(self) -> str:
        return "\n".join(tail(log) for log in sorted(self.layout.logs.glob("*.log")))


@pytest.fixture(scope="module")
async def engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncEngine]:
    """A migrated SQLite database for this module's `dvorik serve`."""
    engine = await fresh_database("sqlite", tmp_path_factory.mktemp("nginx-db"), "dvorik")
    await run_alembic(engine, "upgrade", "head")
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    directory = tmp_path_factory.mktemp("nginx")
    certificate = make_certificate(directory / "tls")
    return Layout(directory, free_port(), free_port(), free_port(), certificate)


@asynccontextmanager
async def running_site(engine: AsyncEngine, layout: Layout) -> AsyncIterator[Site]:
    main_conf = write_configuration(layout)
    fake = FakeTelegram()
    async with serve_app(create_app(fake)) as fake_url:
        env = environment_for(
            engine, **bots_environment(fake_url), TRUSTED_PROXIES="127.0.0.1", LOG_LEVEL="INFO"
        )
        api_log, nginx_log = layout.logs / "api.log", layout.logs / "nginx.log"
        command = [*DVORIK, "serve", "--port", str(layout.api_port)]
        api = spawn(command, env, api_log)
        proxy = spawn(nginx_command(main_conf), env, nginx_log)
        try:
            await wait_until_serving(f"{layout.api_url}/health", api, api_log)
            site = Site(layout, fake, create_sessionmaker(engine))
            await until_proxied(site, proxy, nginx_log)
            yield site
        finally:
            terminate(proxy)
            terminate(api)


async def until_proxied(site: Site, proxy: Popen[bytes], log: Path) -> None:
    """Poll /health through nginx until it answers 200 (nginx starts in a blink, but not 0)."""
    deadline = time.monotonic() + WAIT
    async with site.client() as http:
        while True:
            if proxy.poll() is not None:
                raise AssertionError(f"nginx exited with {proxy.returncode}:\n{site.failure()}")
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"nginx did not proxy /health:\n{tail(log)}")
            await asyncio.sleep(0.1)


@pytest.fixture(scope="module")
async def site(engine: AsyncEngine, layout: Layout) -> AsyncIterator[Site]:
    async with running_site(engine, layout) as running:
        yield running


@pytest.fixture(scope="module")
async def owner(site: Site) -> str:
    """The owner's bearer token, from signing in through nginx."""
    async with site.sessions() as session, session.begin():
        await make_admin(session, email=EMAIL, role=AdminRole.OWNER, password=PASSWORD)
    async with site.client() as http:
        answer = await http.post("/graphql", json=login_body())
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["data"]["login"]["token"]
    return token


def login_body(password: str = PASSWORD) -> dict[str, Any]:
    return {"query": LOGIN, "variables": {"email": EMAIL, "password": password}}


# --- The configuration -------------------------------------------------------------------------


def test_the_site_passes_nginx_t_inside_debians_nginx_conf(tmp_path: Path) -> None:
    certificate = make_certificate(tmp_path / "tls")
    layout = Layout(tmp_path, free_port(), free_port(), 8000, certificate)

    checked = check_configuration(write_configuration(layout))

    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


# --- Plain HTTP: only the ACME challenge, everything else to HTTPS ------------------------------


async def test_plain_http_redirects_to_https_but_serves_the_acme_challenge(site: Site) -> None:
    challenge = site.layout.webroot / ".well-known" / "acme-challenge"
    challenge.mkdir(parents=True, exist_ok=True)
    (challenge / "token-123").write_text("token-123.thumbprint")
    plain = f"http://127.0.0.1:{site.layout.http_port}"
    async with httpx.AsyncClient(base_url=plain, timeout=WAIT, trust_env=False) as http:
        redirected = await http.post("/graphql?x=1", json={"query": "{ __typename }"})
        served = await http.get("/.well-known/acme-challenge/token-123")

    assert redirected.status_code == 301
    assert redirected.headers["location"] == "https://127.0.0.1/graphql?x=1"
    assert (served.status_code, served.text) == (200, "token-123.thumbprint")


# --- GraphQL over HTTPS, and who the app thinks the client is -----------------------------------


async def test_an_admin_signs_in_through_nginx_and_the_app_sees_the_clients_address(
    site: Site, owner: str
) -> None:
    async with site.client() as http:
        me = await http.post(
            "/graphql",
            json={"query": "{ me { email role } }"},
            headers={"Authorization": f"Bearer {owner}"},
        )
        # A client cannot pass for another address by sending the header itself.
        forged = await http.post(
            "/graphql", json=login_body("wrong password"), headers={"X-Forwarded-For": "192.0.2.7"}
        )
    async with site.sessions() as session:
        places = (await session.scalars(select(LoginAttempt.ip).order_by(LoginAttempt.id))).all()

    assert me.status_code == 200, me.text
    assert me.json() == {"data": {"me": {"email": EMAIL, "role": "OWNER"}}}
    assert me.headers["strict-transport-security"] == "max-age=63072000"
    assert forged.json()["errors"][0]["extensions"]["code"] == "INVALID_CREDENTIALS"
    # The sign-in (owner) and the failure: both from the test's own address, not
    # nginx's 127.0.0.1 (the peer the app saw) nor the forged one.
    assert places == [CLIENT, CLIENT]


async def test_the_request_id_is_the_callers_or_nginxs_and_the_app_uses_the_same(
    site: Site,
) -> None:
    query = {"query": "{ __typename }"}
    async with site.client() as http:
        given = await http.post("/graphql", json=query, headers={"X-Request-ID": "spa-42.a"})
        unsafe = await http.post("/graphql", json=query, headers={"X-Request-ID": "a b"})
        refused = await http.get("/metrics")

    assert given.headers.get_list("x-request-id") == ["spa-42.a"]
    fresh = unsafe.headers.get_list("x-request-id")
    assert len(fresh) == 1 and len(fresh[0]) == 32 and fresh[0] != "a b"
    assert len(refused.headers.get_list("x-request-id")) == 1  # nginx's own answers too
    access_log = (site.layout.logs / "dvorik.access.log").read_text()
    assert "request_id=spa-42.a" in access_log and f"request_id={fresh[0]}" in access_log

    async def the_app_logged_it() -> bool:  # its line is written once the answer is out
        return fresh[0] in (site.layout.logs / "api.log").read_text()

    await wait_until(the_app_logged_it, "the app's log line with nginx's id", seconds=WAIT)


# --- The subscription socket ---------------------------------------------------------------------


async def test_a_subscription_over_wss_gets_its_snapshot_and_a_live_change(
    site: Site, owner: str
) -> None:
    broadcast_id = await paused_broadcast(site)
    async with subscription_socket(site, owner) as ws:
        snapshot = await watch(ws, broadcast_id)
        cancelled = await cancel(site, owner, broadcast_id)  # another admin's action
        live = await receive(ws)
        finished = await receive(ws)

    assert snapshot == {"broadcastId": broadcast_id, "status": "PAUSED"}
    assert cancelled.json() == {"data": {"cancelBroadcast": {"status": "CANCELLED"}}}
    assert live["payload"]["data"]["broadcastProgress"]["status"] == "CANCELLED"
    assert finished == {"id": "1", "type": "complete"}


async def test_a_quiet_subscription_outlives_nginxs_read_timeout(site: Site, owner: str) -> None:
    """A paused broadcast's viewer hears nothing for minutes; the socket must stay open."""
    broadcast_id = await paused_broadcast(site)
    async with subscription_socket(site, owner) as ws:
        await watch(ws, broadcast_id)
        await asyncio.sleep(QUIET)  # the scenario itself: nobody says anything
        await cancel(site, owner, broadcast_id)
        live = await receive(ws)

    assert live["payload"]["data"]["broadcastProgress"]["status"] == "CANCELLED"


async def paused_broadcast(site: Site) -> int:
    """A broadcast no worker touches (paused), so its subscription stays quiet."""
    async with site.sessions() as session, session.begin():
        broadcast = Broadcast(
            title="Весенняя распродажа",
            text="Привет, {first_name}!",
            status=BroadcastStatus.PAUSED,
            started_at=utcnow() - timedelta(minutes=5),
            rules_snapshot={"status": ["active"]},
        )
        session.add(broadcast)
    return broadcast.id


@asynccontextmanager
async def subscription_socket(site: Site, token: str) -> AsyncIterator[ClientConnection]:
    """A wss socket through nginx speaking graphql-transport-ws, acknowledged."""
    url = "wss" + site.https.removeprefix("https") + "/graphql"
    async with connect(
        url,
        subprotocols=[PROTOCOL],
        ssl=site.tls,
        open_timeout=WAIT,
        proxy=None,
        local_addr=(CLIENT, 0),
    ) as ws:
        assert ws.subprotocol == PROTOCOL
        await send(ws, {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert await receive(ws) == {"type": "connection_ack"}
        yield ws


async def watch(ws: ClientConnection, broadcast_id: int) -> dict[str, Any]:
    """Subscribe to the broadcast's progress; its first snapshot."""
    query = "subscription($id: Int!) { broadcastProgress(id: $id) { broadcastId status } }"
    payload = {"query": query, "variables": {"id": broadcast_id}}
    await send(ws, {"id": "1", "type": "subscribe", "payload": payload})
    snapshot = await receive(ws)
    assert snapshot["type"] == "next", snapshot
    progress: dict[str, Any] = snapshot["payload"]["data"]["broadcastProgress"]
    return progress


async def cancel(site: Site, token: str, broadcast_id: int) -> httpx.Response:
    async with site.client() as http:
        return await http.post(
            "/graphql",
            json={"query": f"mutation {{ cancelBroadcast(id: {broadcast_id}) {{ status }} }}"},
            headers={"Authorization": f"Bearer {token}"},
        )


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(json.dumps(message))


async def receive(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(WAIT):
        message: dict[str, Any] = json.loads(await ws.recv())
    return message


# --- Telegram's webhooks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bot", "token"), [("customer", CUSTOMER_TOKEN), ("cashier", CASHIER_TOKEN)]
)
async def test_a_webhook_reaches_its_bot_and_the_reply_reaches_telegram(
    site: Site, bot: str, token: str
) -> None:
    user = FakeUser(id=8_100_000_001 if bot == "customer" else 8_100_000_002, first_name="Анна")
    update = {"update_id": 1, "message": text_message(1, user, "/start", int(time.time()))}
    async with site.client() as http:
        wrong = await http.post(
            f"/telegram/{bot}", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"}
        )
        answered = await http.post(
            f"/telegram/{bot}", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
    replies = await site.fake.wait_for_messages(user.id, within=WAIT, token=token)

    assert wrong.status_code == 401  # the app's answer: nginx passed the header through
    assert (answered.status_code, answered.json()) == (200, {"ok": True})
    assert replies[0].method == "sendMessage" and replies[0].text


async def test_the_mini_apps_pages_and_api_pass_through(site: Site) -> None:
    """Telegram opens /app/card and /app/till over HTTPS; their API refuses in its own words."""
    async with site.client() as http:
        page = await http.get("/app/till")
        styles = await http.get("/app/static/mini-app.css")
        refused = await http.get("/app/api/card", headers={"Authorization": "tma forged"})

    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert styles.status_code == 200
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "UNAUTHENTICATED"


# --- What the internet may not reach --------------------------------------------------------------

REFUSED = [
    "GET /metrics",
    "GET /metrics/",
    "GET /internal/webhook-info",
    "POST /internal/set-webhooks",
    "GET /%69nternal/webhook-info",
    "GET /%6detrics",
    "GET //internal/webhook-info",
    "GET /graphql/../internal/webhook-info",
    "GET /graphql/..%2fmetrics",
    "GET /api/%2e%2e/metrics",
]


@pytest.mark.parametrize("request_line", REFUSED)
async def test_metrics_and_internal_are_not_served_through_nginx(
    site: Site, request_line: str
) -> None:
    method, path = request_line.split()
    status = await raw_status(site, method, path, {"X-API-Key": INTERNAL_API_KEY})

    assert status == 404, site.failure()


async def test_the_same_key_opens_them_on_the_apps_own_port(site: Site) -> None:
    """What makes the 404s above nginx's doing: the key and the paths are right."""
    async with httpx.AsyncClient(base_url=site.api, timeout=WAIT, trust_env=False) as http:
        metrics = await http.get("/metrics", headers={"X-API-Key": INTERNAL_API_KEY})
        sneaky = await http.get("/%69nternal/webhook-info", headers={"X-API-Key": INTERNAL_API_KEY})

    assert metrics.status_code == 200 and "dvorik_http_request_duration_seconds" in metrics.text
    assert sneaky.status_code == 200, sneaky.text


async def raw_status(site: Site, method: str, path: str, headers: dict[str, str]) -> int:
    """The status of a request sent byte for byte (httpx would normalise the path)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: dvorik.test", "Content-Length: 0"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += ["Connection: close", "", ""]
    async with asyncio.timeout(WAIT):
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", site.layout.https_port, ssl=site.tls, local_addr=(CLIENT, 0)
        )
        try:
            writer.write("\r\n".join(lines).encode())
            status_line = await reader.readline()
        finally:
            writer.close()
    return int(status_line.split()[1])


# --- Bodies --------------------------------------------------------------------------------------


def padded_query(size: int) -> bytes:
    """A GraphQL request of `size` bytes: a tiny query, padded in `extensions`."""
    head, tail_ = b'{"query":"{ __typename }","extensions":{"padding":"', b'"}}'
    return head + b"x" * (size - len(head) - len(tail_)) + tail_


def padded_update(size: int) -> bytes:
    """A Telegram update of `size` bytes (an unknown field carries the padding)."""
    head, tail_ = b'{"update_id":7,"padding":"', b'"}'
    return head + b"x" * (size - len(head) - len(tail_)) + tail_


async def test_bodies_up_to_the_apps_ceilings_pass_and_larger_ones_are_refused_by_nginx(
    site: Site,
) -> None:
    json_type = {"Content-Type": "application/json"}
    secret = {"X-Telegram-Bot-Api-Secret-Token": SECRET, **json_type}
    async with site.client() as http:
        query = await http.post("/graphql", content=padded_query(GRAPHQL_LIMIT), headers=json_type)
        update = await http.post(
            "/telegram/customer", content=padded_update(WEBHOOK_LIMIT), headers=secret
        )
        refused = [
            await http.post("/graphql", content=padded_query(GRAPHQL_LIMIT + 1), headers=json_type),
            await http.post("/graphql", content=padded_query(2 * MB), headers=json_type),
            await http.post(
                "/telegram/customer", content=padded_update(WEBHOOK_LIMIT + 1), headers=secret
            ),
            await http.post("/health", content=b" " * 20_000, headers=json_type),
        ]

    assert (query.status_code, query.json()) == (200, {"data": {"__typename": "Query"}})
    assert (update.status_code, update.json()) == (200, {"ok": True})
    # nginx's own answer (the app's says "request body larger than … bytes").
    too_large = {"message": "request body too large", "extensions": {"code": "PAYLOAD_TOO_LARGE"}}
    assert [(r.status_code, r.json()) for r in refused] == [(413, {"errors": [too_large]})] * 4
