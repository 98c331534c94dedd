"""The contract's reference client in a real browser: a marketer's whole visit.

frontend-contract/example/ (TypeScript, the generated documents, fetch and the
graphql-ws library) is built with esbuild and served from an origin of its own,
as the admin SPA is; headless Chromium opens it against Dvorik with the fake
Bot API. The marketer mistypes the password and reads why, signs in, sees the
customers, sends a broadcast and watches it live, pauses it, signs out (the
server closes the live socket with 4403), signs in again, resumes it and sees
it finish with the numbers the API reports. Once in the embedded default
(SQLite, everything in one process) and once in the production layout
(`dvorik serve` + `dvorik worker` + MariaDB + Redis, progress across processes).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend import demo_data
from backend.domain import shop_settings
from backend.domain.audit import Actor
from backend.domain.database import create_sessionmaker
from backend.domain.models import AdminRole
from backend.fake_telegram import FakeTelegram, create_app
from tests.api import environment_for, serve_app, signed_in
from tests.browser import DevTools, open_page, screenshot
from tests.databases import fresh_database, migrated_mariadb, run_alembic
from tests.factories import make_admin
from tests.frontend_kit import ROOT, build_example
from tests.ledger import by_messages_received, recipients
from tests.processes import DVORIK, free_port, redis_server, spawn, terminate, wait_until_serving
from tests.telegram_world import bots_environment, served_with_bots

pytestmark = pytest.mark.slow

RECIPIENTS = 60
SEND_RATE = 15  # messages per second: about 4 s of sending, time to pause in the middle
PASSWORD = "correct horse battery"
NAME_PREFIX = "Новинки! "
EMAIL = "marketer@dvorik.test"
PAUSE_SHOWN_WITHIN_MS = 1000
BUDGET = 120.0  # seconds for the whole visit, start-up included
ARTEFACTS = ROOT / "test-artifacts"
DETAIL = """query($id: Int!) { broadcast(id: $id) {
  status stats { status total sent failed blocked pending } } }"""
Sessions = async_sessionmaker[AsyncSession]


@dataclass
class Shop:
    api: str  # the GraphQL endpoint's URL
    fake: FakeTelegram
    sessions: Sessions


@contextlib.contextmanager
def static_site(folder: Path) -> Iterator[str]:
    """`folder` over HTTP on an origin of its own (as the SPA's host); yields that origin."""
    handler = functools.partial(QuietFiles, directory=str(folder))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No line per file on stderr."""


async def stock(sessions: Sessions) -> None:
    """A marketer who signs in with a password, customers, a send rate that takes seconds."""
    async with sessions() as session, session.begin():
        await make_admin(session, email=EMAIL, role=AdminRole.MARKETING, password=PASSWORD)
    await demo_data.add_subscribers(sessions, RECIPIENTS)
    async with sessions() as session, session.begin():
        actor = Actor.system("example-client-test")
        await shop_settings.set_value(session, "broadcast_send_rate_per_second", SEND_RATE, actor)


@contextlib.asynccontextmanager
async def embedded_shop(origin: str, tmp_path: Path) -> AsyncIterator[Shop]:
    engine = await fresh_database("sqlite", tmp_path, "example")
    await run_alembic(engine, "upgrade", "head")
    try:
        sessions = create_sessionmaker(engine)
        await stock(sessions)
        async with served_with_bots(engine, cors_origins=origin) as world:
            yield Shop(f"{world.dvorik.url}/graphql", world.fake, sessions)
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def production_shop(origin: str, tmp_path: Path) -> AsyncIterator[Shop]:
    """API and worker as processes on MariaDB and a Redis of their own."""
    async with migrated_mariadb(f"dvorik_example_{os.getpid()}") as engine:
        sessions = create_sessionmaker(engine)
        await stock(sessions)
        fake = FakeTelegram()
        with redis_server(tmp_path / "redis.log") as redis:
            async with serve_app(create_app(fake)) as fake_url:
                env = environment_for(
                    engine, REDIS_URL=redis.url, CORS_ORIGINS=origin, **bots_environment(fake_url)
                )
                port = free_port()
                api_log = tmp_path / "api.log"
                api = spawn([*DVORIK, "serve", "--port", str(port)], env, api_log)
                worker = spawn([*DVORIK, "worker"], env, tmp_path / "worker.log")
                try:
                    await wait_until_serving(f"http://127.0.0.1:{port}/ready", api, api_log)
                    yield Shop(f"http://127.0.0.1:{port}/graphql", fake, sessions)
                finally:
                    terminate(worker)
                    terminate(api)


SHOPS = {"embedded": embedded_shop, "production": production_shop}


# --- the page, as a person uses it ------------------------------------------------------


async def fill(page: DevTools, selector: str, value: str) -> None:
    await page.evaluate(
        f"document.querySelector({json.dumps(selector)}).value = {json.dumps(value)}"
    )


async def press(page: DevTools, selector: str) -> None:
    await page.evaluate(f"document.querySelector({json.dumps(selector)}).click()")


async def text(page: DevTools, selector: str) -> str:
    return str(await page.evaluate(f"document.querySelector({json.dumps(selector)}).textContent"))


async def visible(page: DevTools, selector: str) -> bool:
    return bool(await page.evaluate(f"!document.querySelector({json.dumps(selector)}).hidden"))


async def record(page: DevTools) -> dict[str, Any]:
    """What the page showed, with timestamps (window.dvorikExample)."""
    recorded: dict[str, Any] = await page.evaluate("window.dvorikExample")
    return recorded


async def sign_in(page: DevTools, password: str) -> None:
    await fill(page, "#sign-in [name=email]", EMAIL)
    await fill(page, "#sign-in [name=password]", password)
    await press(page, "#sign-in button[type=submit]")


def action_at(shown: dict[str, Any], name: str) -> float:
    at: float = [action["at"] for action in shown["actions"] if action["name"] == name][-1]
    return at


async def final_stats(shop: Shop, broadcast_id: int) -> dict[str, Any]:
    token = await signed_in(shop.sessions, AdminRole.READONLY, "auditor@dvorik.test")
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            shop.api,
            json={"query": DETAIL, "variables": {"id": broadcast_id}},
            headers={"Authorization": f"Bearer {token}"},
        )
    stats: dict[str, Any] = response.json()["data"]["broadcast"]["stats"]
    return stats


@pytest.mark.parametrize("layout", ["embedded", "production"])
async def test_a_marketer_watches_pauses_and_finishes_a_broadcast_in_the_example_page(
    layout: str, tmp_path: Path
) -> None:
    site = build_example(tmp_path / "site")
    with static_site(site) as origin:
        async with asyncio.timeout(BUDGET), SHOPS[layout](origin, tmp_path) as shop:
            async with open_page(tmp_path) as page:
                await visit(page, shop, origin)
                shown = await record(page)
                picture = await screenshot(page)
                problems = page.problems()
            final = await final_stats(shop, shown["broadcastId"])
            chats = await recipients(shop.sessions, shown["broadcastId"])
            received = by_messages_received(shop.fake, chats, prefix=NAME_PREFIX)
    ARTEFACTS.mkdir(exist_ok=True)
    (ARTEFACTS / f"example-client-{layout}.png").write_bytes(picture)

    snapshots = shown["snapshots"]
    last = {key: snapshots[-1][key] for key in final}
    assert last == final and final["status"] == "COMPLETED", (last, final)
    assert final["sent"] == RECIPIENTS and final["pending"] == 0
    assert received == {1: RECIPIENTS}  # every customer got it once
    live = {s["sent"] for s in snapshots if s["status"] == "SENDING" and s["workerAlive"]}
    assert len(live) >= 3, snapshots  # progress arrived while it ran, not only at the end
    assert [close["code"] for close in shown["closes"]][:1] == [4403], shown["closes"]
    assert problems == [], problems


async def visit(page: DevTools, shop: Shop, origin: str) -> None:
    """The marketer's visit, asserting on what the page shows at each step."""
    await page.send("Page.navigate", url=f"{origin}/?api={shop.api}")
    # The form is in the HTML before the script that handles it has run.
    await page.wait_for("!!window.dvorikExample", "the page's script")

    await sign_in(page, "wrong password")
    await page.wait_for("!document.querySelector('#error').hidden", "the sign-in error")
    assert await text(page, "#error") == "Неверная почта или пароль."

    await sign_in(page, PASSWORD)
    rows = "#customers tbody tr"
    await page.wait_for(f"document.querySelectorAll('{rows}').length === 10", "customers")
    assert await text(page, "#customer-count") == f"({RECIPIENTS})"
    assert await visible(page, "#workspace") and not await visible(page, "#error")

    await fill(page, "#broadcast [name=title]", "Новинки")
    await fill(page, "#broadcast [name=text]", NAME_PREFIX + "{first_name}, у нас новый мармелад!")
    await press(page, "#broadcast button[type=submit]")
    await page.wait_for(
        "window.dvorikExample.snapshots.filter(s => s.status === 'SENDING' && s.sent > 0)"
        ".length >= 3",
        "live progress",
        seconds=30,
    )

    await press(page, "#pause")
    await page.wait_for("document.querySelector('#status').dataset.status === 'PAUSED'", "pause")
    shown = await record(page)
    paused = next(s for s in shown["snapshots"] if s["status"] == "PAUSED")
    assert paused["at"] - action_at(shown, "pause") < PAUSE_SHOWN_WITHIN_MS
    assert await text(page, "#status") == "На паузе" and await visible(page, "#resume")

    await press(page, "#logout")
    await page.wait_for("window.dvorikExample.closes.length > 0", "the socket closed")
    note = "Сервер закрыл живое обновление (код 4403): войдите снова."
    assert await text(page, "#socket") == note and await visible(page, "#sign-in")

    assert not await visible(page, "#progress")  # nothing of the last session stays on screen
    await sign_in(page, PASSWORD)
    await page.wait_for("!document.querySelector('#progress').hidden", "the paused broadcast again")
    assert await visible(page, "#resume")
    await press(page, "#resume")
    await page.wait_for("window.dvorikExample.completed !== null", "completion", seconds=60)
    assert await text(page, "#status") == "Завершена"
    counts = await text(page, "#counts")
    assert counts.startswith(f"Доставлено {RECIPIENTS} из {RECIPIENTS}"), counts
