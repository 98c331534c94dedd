"""What GraphiQL opens with: how to sign in, and a KPI query that runs as it is.

Analysts open `/graphql` in a browser to read figures. Strawberry's page opens
on GraphiQL's generic welcome text, which says nothing about the token every
field but `login` needs, and leaves them to write a query from the schema.
Here the editor opens with a short note (Russian, then English) on signing in,
followed by the KPI report of the last 90 days by week: the dates are the
shop's business days (TIMEZONE) computed when the page is served, so pressing
run answers at once. The explorer plugin is open beside it, to add fields by
ticking them. New tabs start with the same text.

The page is Strawberry's own, changed in two places found by exact text
(`apply`). If a Strawberry upgrade changes any of them, `apply` raises
`TemplateChanged` naming it; the served page then logs that and falls back
to Strawberry's text (`backend.graphql.ide`), and
`tests/graphql/test_graphiql_welcome.py` fails until this module follows.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Final

DAYS: Final = 90  # the KPI period, today included

NOTE: Final = """\
# Дворик: GraphQL API «Мармеладного Дворика» / Dvorik's GraphQL API
#
# Вход. Откройте новую вкладку (+ вверху справа), выполните в ней
#   mutation { login(email: "you@example.com", password: "…") { token expiresAt } }
# и скопируйте token из ответа. Затем внизу откройте вкладку Headers и вставьте
#   {"Authorization": "Bearer <token>"}
# Токен действует 24 часа; выйти: mutation { logout }.
# Запрос ниже: показатели за последние 90 дней по неделям (дни по времени
# магазина, {zone}). Нажмите ▶ (Ctrl-Enter). Поля можно добавить слева (Explorer).
#
# Signing in. Open a new tab (+ at the top right), run
#   mutation { login(email: "you@example.com", password: "…") { token expiresAt } }
# there and copy the token it returns. Then open the Headers tab below and put
#   {"Authorization": "Bearer <token>"}
# A token lasts 24 hours; sign out with mutation { logout }.
# The query below: the KPIs of the last 90 days by week (days in the shop's
# time zone, {zone}). Press ▶ (Ctrl-Enter). Add fields on the left (Explorer).
"""

QUERY: Final = """\
query Kpi90Days {
  kpi(start: "{start}", end: "{end}", granularity: WEEK) {
    start
    end
    zone
    asOf
    buckets
    customers {
      total
      new
      active
      unsubscribed
      blocked
      newCustomers { total points { bucket value } }
    }
    discounts {
      overall { issued redeemed conversion }
      byKind { kind issued redeemed conversion }
    }
    redemptions {
      byStore { store count }
    }
    broadcasts { title sent redeemed conversion }
  }
}
"""

# What is replaced on Strawberry's page, each expected exactly once.
EXAMPLE_QUERY: Final = re.compile(r"const EXAMPLE_QUERY = `[^`]*`;")
PLUGINS: Final = "plugins: [explorerPlugin],"
# The explorer open when the page opens; new tabs with our text, not GraphiQL's welcome.
PLUGINS_WITH_DEFAULTS: Final = (
    "plugins: [explorerPlugin],\n"
    "          visiblePlugin: explorerPlugin,\n"
    "          defaultQuery: EXAMPLE_QUERY,"
)


class TemplateChanged(RuntimeError):
    """Strawberry's GraphiQL page no longer has a piece of text `apply` replaces."""


def welcome_text(today: date, zone_name: str) -> str:
    """The note and the KPI query of the `DAYS` business days up to `today`."""
    start = today - timedelta(days=DAYS - 1)
    # str.replace, not format: the query's braces are GraphQL's.
    note = NOTE.replace("{zone}", zone_name)
    query = QUERY.replace("{start}", start.isoformat()).replace("{end}", today.isoformat())
    return f"{note}\n{query}"


def apply(html: str, text: str) -> str:
    """Strawberry's page opening with `text` and the explorer shown; `TemplateChanged` if it cannot.

    `text` goes in as a JSON string, which is a JavaScript string literal too;
    `<` is escaped so no `</script>` in it can end the script early.
    """
    if len(EXAMPLE_QUERY.findall(html)) != 1:
        raise TemplateChanged("the page no longer defines EXAMPLE_QUERY as one template literal")
    if html.count(PLUGINS) != 1:
        raise TemplateChanged(f"the page no longer passes {PLUGINS!r} to GraphiQL")
    literal = json.dumps(text, ensure_ascii=False).replace("<", "\\u003c")
    html = EXAMPLE_QUERY.sub(lambda _: f"const EXAMPLE_QUERY = {literal};", html)
    return html.replace(PLUGINS, PLUGINS_WITH_DEFAULTS)
