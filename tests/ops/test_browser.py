"""An admin in a real browser: headless Chromium opens GraphiQL, signs in, sees the KPIs.

GraphiQL opens on a note on signing in and a KPI query of the last 90 days
(`backend/graphql/ide_welcome.py`); the admin follows the note and runs the
query as it is.

Debian's chromium is started by the test with a fresh profile and no
background networking, and driven over the Chrome DevTools Protocol (a
WebSocket, the `websockets` dev dependency). The page must work with no
internet at all: every request it makes has to go to our server, so the
vendored GraphiQL assets are what renders. `.ci/install-tools` installs
chromium; with CI=true a missing browser fails the test instead of skipping.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from websockets.asyncio.client import ClientConnection, connect

from backend.domain.clock import business_date, utcnow
from backend.domain.models import AdminRole
from tests.api import GraphQLClient, RunningServer
from tests.databases import in_ci
from tests.factories import make_customer

pytestmark = pytest.mark.slow

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--window-size=1280,900",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)
BUDGET = 25.0  # seconds for the whole browser session


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "chromium is not installed: run .ci/install-tools"
        if in_ci():
            pytest.fail(message + " (CI=true: the browser test must run)", pytrace=False)
        pytest.skip(message)
    return path


class DevTools:
    """A minimal Chrome DevTools Protocol client: commands by id, events kept in order."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.events: list[dict[str, Any]] = []
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._next_id = 0
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.socket:
            message = json.loads(raw)
            if "id" in message and message["id"] in self._waiting:
                self._waiting.pop(message["id"]).set_result(message)
            elif "method" in message:
                self.events.append(message)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[self._next_id] = answer
        command = {"id": self._next_id, "method": method, "params": params}
        await self.socket.send(json.dumps(command))
        reply = await answer
        if "error" in reply:
            raise AssertionError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply["result"]
        return result

    async def evaluate(self, expression: str) -> Any:
        reply = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in reply:
            raise AssertionError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    async def wait_for(self, expression: str, what: str, seconds: float = 15.0) -> Any:
        """Poll `expression` until it is truthy (the page renders asynchronously)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}; events: {self.problems()}")
            await asyncio.sleep(0.1)

    def requested_urls(self) -> list[str]:
        return [
            event["params"]["request"]["url"]
            for event in self.events
            if event["method"] == "Network.requestWillBeSent"
        ]

    def problems(self) -> list[Any]:
        kinds = ("Network.loadingFailed", "Runtime.exceptionThrown")
        return [event["params"] for event in self.events if event["method"] in kinds]

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self.socket.close()


@contextlib.contextmanager
def browser_process(profile: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        process = subprocess.Popen(
            [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@contextlib.asynccontextmanager
async def open_page(tmp_path: Path) -> AsyncIterator[DevTools]:
    """Chromium with a fresh profile; yields a DevTools session on its first tab."""
    profile, log = tmp_path / "profile", tmp_path / "chromium.log"
    with browser_process(profile, log) as process:
        port_file = profile / "DevToolsActivePort"
        while not port_file.exists() or not port_file.read_text().strip():
            if process.poll() is not None:
                raise AssertionError(f"chromium exited: {log.read_text()[-2000:]}")
            await asyncio.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        async with httpx.AsyncClient() as http:
            targets = (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
        page = next(target for target in targets if target["type"] == "page")
        async with connect(page["webSocketDebuggerUrl"], max_size=None) as socket:
            devtools = DevTools(socket)
            try:
                for domain in ("Page", "Runtime", "Network"):
                    await devtools.send(f"{domain}.enable")
                yield devtools
            finally:
                await devtools.close()


def editor(selector: str) -> str:
    """JavaScript for the CodeMirror instance GraphiQL mounted under `selector`."""
    return f"document.querySelector({json.dumps(selector + ' .CodeMirror')}).CodeMirror"


async def run_in_graphiql(page: DevTools) -> dict[str, Any]:
    """Press run on whatever the editor holds, and read the result pane."""
    await page.evaluate(f"{editor('.result-window')}.setValue('')")
    await page.evaluate("document.querySelector('.graphiql-execute-button').click()")
    shown = await page.wait_for(f"{editor('.result-window')}.getValue()", "the result pane")
    result: dict[str, Any] = json.loads(shown)
    return result


def last_90_days() -> set[tuple[str, str]]:
    """The KPI period the page may have been served with: 90 days to today in Vladivostok
    (two candidates: the day may turn while the test runs)."""
    periods = set()
    for moment in (utcnow(), utcnow() + timedelta(seconds=BUDGET)):
        today = business_date(moment, ZoneInfo("Asia/Vladivostok"))
        periods.add(((today - timedelta(days=89)).isoformat(), today.isoformat()))
    return periods


async def test_an_admin_runs_the_kpi_query_graphiql_opens_with(
    server: RunningServer,
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    async with sessions() as session, session.begin():
        for days_ago in (1, 20, 60):  # three new customers within the last 90 days
            await make_customer(session, created_at=utcnow() - timedelta(days=days_ago))
    token = staff[AdminRole.READONLY].token
    assert token is not None

    async with asyncio.timeout(BUDGET), open_page(tmp_path) as page:
        await page.send("Page.navigate", url=f"{server.url}/graphql")
        await page.wait_for(
            "!!document.querySelector('.graphiql-execute-button')", "GraphiQL to render"
        )
        opened_with = await page.evaluate(f"{editor('.graphiql-query-editor')}.getValue()")
        explorer = await page.wait_for(
            "(e => e && e.offsetWidth > 0 && e.closest('.graphiql-plugin').innerText)"
            "(document.querySelector('.graphiql-plugin .graphiql-explorer-root'))",
            "the explorer to be shown",
        )

        # Not signed in yet: the API says so in the result pane.
        anonymous = await run_in_graphiql(page)

        # Sign in as the note says: open the Headers tab and put the token there.
        await page.evaluate(
            "[...document.querySelectorAll('.graphiql-editor-tools button')]"
            ".find(b => b.textContent.trim() === 'Headers').click()"
        )
        headers = ".graphiql-editor-tool .graphiql-editor:not(.hidden)"
        await page.wait_for(f"!!document.querySelector('{headers} .CodeMirror')", "headers")
        authorization = json.dumps({"Authorization": f"Bearer {token}"})
        await page.evaluate(f"{editor(headers)}.setValue({json.dumps(authorization)})")
        signed_in = await run_in_graphiql(page)
        still_there = await page.evaluate(f"{editor('.graphiql-query-editor')}.getValue()")

        screenshot = await page.send("Page.captureScreenshot", format="png")
        (tmp_path / "graphiql.png").write_bytes(base64.b64decode(screenshot["data"]))
        urls = page.requested_urls()
        problems = page.problems()

    # The note, in Russian and in English, then the query, which ran unchanged.
    assert "Вход. Откройте новую вкладку" in opened_with
    assert "вкладку Headers" in opened_with and "Signing in." in opened_with
    assert '{"Authorization": "Bearer <token>"}' in opened_with
    assert opened_with.index("Signing in.") < opened_with.index("query Kpi90Days {")
    assert still_there == opened_with
    assert "Explorer" in explorer and "kpi" in explorer
    assert [e["extensions"]["code"] for e in anonymous["errors"]] == ["UNAUTHENTICATED"]
    assert "errors" not in signed_in, signed_in
    report = signed_in["data"]["kpi"]
    assert (report["start"], report["end"]) in last_90_days()
    assert f'kpi(start: "{report["start"]}", end: "{report["end"]}", granularity: WEEK)' in (
        opened_with
    )
    assert len(report["buckets"]) in (13, 14) and report["buckets"][0] <= report["start"]
    assert all(date.fromisoformat(bucket).isoweekday() == 1 for bucket in report["buckets"])
    assert report["customers"]["total"] == 3 and report["customers"]["new"] == 3
    assert sum(point["value"] for point in report["customers"]["newCustomers"]["points"]) == 3
    assert problems == []
    network = [urlsplit(url) for url in urls if not url.startswith(("data:", "blob:"))]
    assert {url.netloc for url in network} == {urlsplit(server.url).netloc}, urls  # no CDN
    assert any(url.endswith("/graphql/ide/graphiql.min.js") for url in urls)


async def test_the_graphiql_page_names_only_local_assets_matching_their_integrity(
    base_url: str,
) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        page = (await http.get("/graphql", headers={"Accept": "text/html"})).text
        assets = re.findall(r'(?:src|href)="(/graphql/ide/[^"]+)"\s+integrity="([^"]+)"', page)
        assert "unpkg.com" not in page and len(assets) == 7
        for path, integrity in assets:
            body = (await http.get(path)).content
            digest = base64.b64encode(hashlib.sha384(body).digest()).decode()
            assert integrity == f"sha384-{digest}", path
