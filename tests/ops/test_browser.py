"""An admin in a real browser: headless Chromium opens GraphiQL, signs in, sees the KPIs.

GraphiQL opens on a note on signing in and a KPI query of the last 90 days
(`backend/graphql/ide_welcome.py`); the admin follows the note and runs the
query as it is.

The browser is driven over the DevTools Protocol (tests/browser.py). The page
must work with no internet at all: every request it makes has to go to our
server, so the vendored GraphiQL assets are what renders.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain.clock import business_date, utcnow
from backend.domain.models import AdminRole
from tests.api import GraphQLClient, RunningServer
from tests.browser import DevTools, open_page
from tests.factories import make_customer

pytestmark = pytest.mark.slow

BUDGET = 25.0  # seconds for the whole browser session


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
