"""The metrics a PromQL expression reads, and the dashboards' and alerts' expressions.

Not a PromQL parser (Debian's promtool 2.42 has no command that prints one's
tree): a tokenizer that is enough for what dashboards and alert rules say.
A name counts as a metric when it is an identifier outside label matchers
(`{...}`), range brackets (`[5m]`), strings and grouping clauses (`by (...)`,
`on (...)`, ...), and is not a function's name (followed by `(`) or a keyword.
Metric names are compared with the series names of an exposition as they
are (`_total`, `_bucket`, `_count` included): PromQL reads series, not families.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"

_KEYWORDS = frozenset(
    {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right"}
    | {"bool", "offset", "inf", "nan", "atan2"}
)
_SELECTOR = re.compile(r"(?<![\w.:])([A-Za-z_:][\w:]*)\s*\{([^}]*)\}")
_MATCHER = re.compile(r'([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.:$])([A-Za-z_:][\w:]*)\b(?!\s*\()")


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str


def _without_noise(expr: str) -> str:
    expr = re.sub(r"\{[^}]*\}", " ", expr)  # label matchers (strings inside them too)
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)  # ranges and subqueries, $__rate_interval
    expr = _GROUPING.sub(" ", expr)
    return re.sub(r"\boffset\s+\S+", " ", expr)


def metric_names(expr: str) -> set[str]:
    """The series names `expr` reads."""
    names = {match.group(1) for match in _IDENTIFIER.finditer(_without_noise(expr))}
    return {name for name in names if name.lower() not in _KEYWORDS}


def grouping_labels(expr: str) -> set[str]:
    """Labels the expression groups or joins by (`by (le, task)`, `on (instance)`)."""
    return {
        label.strip()
        for clause in _GROUPING.findall(expr)
        for label in clause[clause.index("(") + 1 : -1].split(",")
        if label.strip()
    }


def matchers(expr: str) -> dict[str, list[Matcher]]:
    """Label matchers by the metric they select (a name may be selected more than once)."""
    found: dict[str, list[Matcher]] = {}
    for name, inside in _SELECTOR.findall(expr):
        found.setdefault(name, []).extend(Matcher(*m) for m in _MATCHER.findall(inside))
    return found


def dashboard_expressions() -> Iterator[tuple[str, str]]:
    """(where, expr) for every query of every provisioned dashboard, rows' panels included."""
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        stack = list(dashboard["panels"])
        while stack:
            panel = stack.pop()
            stack.extend(panel.get("panels", []))
            for target in panel.get("targets", []):
                yield f"{path.name}: {panel['title']}", target["expr"]


def rules() -> list[dict[str, object]]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def rule_expressions() -> Iterator[tuple[str, str]]:
    for rule in rules():
        yield f"alerts.yml: {rule.get('alert') or rule.get('record')}", str(rule["expr"])
