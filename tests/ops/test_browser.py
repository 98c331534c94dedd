"""An admin in a real browser: headless Chromium opens GraphiQL, signs in, sees the KPIs.

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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain.models import AdminRole
from tests.api import GraphQLClient, RunningServer
from tests.browser import DevTools, open_page
from tests.factories import make_customer

pytestmark = pytest.mark.slow

KPI = """query Dashboard {
  kpi(start: "2025-03-03", end: "2025-03-09", granularity: DAY) {
    buckets
    customers { total new }
  }
}"""
BUDGET = 25.0  # seconds for the whole browser session


def editor(selector: str) -> str:
    """JavaScript for the CodeMirror instance GraphiQL mounted under `selector`."""
    return f"document.querySelector({json.dumps(selector + ' .CodeMirror')}).CodeMirror"


async def run_in_graphiql(page: DevTools, query: str) -> dict[str, Any]:
    """Type the query into the editor, press run, and read the result pane."""
    await page.evaluate(f"{editor('.graphiql-query-editor')}.setValue({json.dumps(query)})")
    await page.evaluate(f"{editor('.result-window')}.setValue('')")
    await page.evaluate("document.querySelector('.graphiql-execute-button').click()")
    shown = await page.wait_for(f"{editor('.result-window')}.getValue()", "the result pane")
    result: dict[str, Any] = json.loads(shown)
    return result


async def test_an_admin_runs_the_kpi_query_in_graphiql(
    server: RunningServer,
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    async with sessions() as session, session.begin():
        for day in (3, 4, 8):  # three new customers that week
            await make_customer(session, created_at=datetime(2025, 3, day, 2, tzinfo=UTC))
    token = staff[AdminRole.READONLY].token
    assert token is not None

    async with asyncio.timeout(BUDGET), open_page(tmp_path) as page:
        await page.send("Page.navigate", url=f"{server.url}/graphql")
        await page.wait_for(
            "!!document.querySelector('.graphiql-execute-button')", "GraphiQL to render"
        )

        # Not signed in yet: the API says so in the result pane.
        anonymous = await run_in_graphiql(page, KPI)
        assert [e["extensions"]["code"] for e in anonymous["errors"]] == ["UNAUTHENTICATED"]

        # Sign in the way a person does: open the Headers tab and put the token there.
        await page.evaluate(
            "[...document.querySelectorAll('.graphiql-editor-tools button')]"
            ".find(b => b.textContent.trim() === 'Headers').click()"
        )
        headers = ".graphiql-editor-tool .graphiql-editor:not(.hidden)"
        await page.wait_for(f"!!document.querySelector('{headers} .CodeMirror')", "headers")
        authorization = json.dumps({"Authorization": f"Bearer {token}"})
        await page.evaluate(f"{editor(headers)}.setValue({json.dumps(authorization)})")
        signed_in = await run_in_graphiql(page, KPI)

        screenshot = await page.send("Page.captureScreenshot", format="png")
        (tmp_path / "graphiql.png").write_bytes(base64.b64decode(screenshot["data"]))
        urls = page.requested_urls()
        problems = page.problems()

    assert "errors" not in signed_in, signed_in
    report = signed_in["data"]["kpi"]
    assert report["customers"]["total"] == 3 and report["customers"]["new"] == 3
    assert report["buckets"][0] == "2025-03-03" and len(report["buckets"]) == 7
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
