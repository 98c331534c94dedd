"""GraphiQL opens on how to sign in and a KPI query of the last 90 days (no browser here).

`tests/ops/test_browser.py` runs the page in Chromium; these are quick and
run with every suite: that the installed Strawberry's page still takes our
changes (a Strawberry upgrade that moves them fails here, by name), and that
the served page carries the note and today's period in the shop's zone.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from strawberry.http.ides import get_graphql_ide_html

from backend.domain.clock import business_date, utcnow
from backend.graphql import ide_welcome
from backend.graphql.ide_welcome import TemplateChanged

SERVED_TEXT = re.compile(r"const EXAMPLE_QUERY = (\".*?\");\n", re.DOTALL)


def test_strawberrys_page_still_takes_the_welcome_and_the_open_explorer() -> None:
    text = ide_welcome.welcome_text(business_date(utcnow(), ZoneInfo("Asia/Vladivostok")), "Z")

    page = ide_welcome.apply(get_graphql_ide_html(graphql_ide="graphiql"), text)

    literal = SERVED_TEXT.search(page)
    assert literal is not None and json.loads(literal.group(1)) == text
    assert "Welcome to GraphiQL" not in page
    assert "visiblePlugin: explorerPlugin," in page and "defaultQuery: EXAMPLE_QUERY," in page
    assert "</script>" not in literal.group(1)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (("const EXAMPLE_QUERY = `", "const DEFAULT_QUERY = `"), "EXAMPLE_QUERY"),
        (("plugins: [explorerPlugin],", "plugins: [explorer],"), "plugins: [explorerPlugin],"),
    ],
    ids=["example query renamed", "plugins renamed"],
)
def test_a_strawberry_page_without_the_pieces_fails_loudly_naming_them(
    change: tuple[str, str], named: str
) -> None:
    changed = get_graphql_ide_html(graphql_ide="graphiql").replace(*change)

    with pytest.raises(TemplateChanged, match=re.escape(named)):
        ide_welcome.apply(changed, "# hello")


async def test_the_page_served_opens_on_the_note_and_the_last_90_days_in_vladivostok(
    base_url: str,
) -> None:
    before = business_date(utcnow(), ZoneInfo("Asia/Vladivostok"))
    async with httpx.AsyncClient(base_url=base_url) as http:
        page = (await http.get("/graphql", headers={"Accept": "text/html"})).text
    after = business_date(utcnow(), ZoneInfo("Asia/Vladivostok"))

    literal = SERVED_TEXT.search(page)
    assert literal is not None
    text: str = json.loads(literal.group(1))
    note, query = text.split("\nquery Kpi90Days {")
    assert "Вход. Откройте новую вкладку" in note and "Signing in." in note
    assert '{"Authorization": "Bearer <token>"}' in note and "Asia/Vladivostok" in note
    periods = {
        f'kpi(start: "{today - timedelta(days=89)}", end: "{today}", granularity: WEEK)'
        for today in (before, after)
    }
    assert any(period in query for period in periods), query
