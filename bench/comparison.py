"""The same suite on two database servers, side by side: one Markdown table.

`python -m bench --database both` runs every path on MariaDB, then on
PostgreSQL, with the same seed, size and moment; this table puts each figure
of the two runs in one row, with its verdict and margin on each server and
the ratio PostgreSQL / MariaDB of every number the figure shows (p50 and p99
of a latency: below 1 PostgreSQL is faster; of a rate: above 1 it is).
Figures are matched by name with the digits left out, since names carry
counts ("segment count, 3 rules (1018 members)") that may differ by a few.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bench.measure import Figure


@dataclass(frozen=True)
class Run:
    """One server's run of the suite: its figures and how it went."""

    server: str
    figures: list[Figure]
    seconds: float
    load: str


def _key(figure: Figure) -> str:
    return re.sub(r"\d+", "#", figure.name)


def _cell(figure: Figure | None) -> str:
    if figure is None:
        return "—"
    margin = f" ({figure.margin_text()})" if figure.margin is not None else ""
    return f"{figure.verdict} {figure.value}{margin}"


def ratio(base: Figure | None, other: Figure | None) -> str:
    """`other / base` for each number both show, e.g. "0.81 / 1.20"; "—" when there is none."""
    if base is None or other is None or len(base.numbers) != len(other.numbers):
        return "—"
    parts = [
        f"{mine / theirs:.2f}" if theirs else "—"
        for theirs, mine in zip(base.numbers, other.numbers, strict=True)
    ]
    return " / ".join(parts) if parts else "—"


def table(base: Run, other: Run) -> list[str]:
    """Markdown lines: a row per figure of either run, `other / base` in the last column."""
    first = {_key(figure): figure for figure in base.figures}
    second = {_key(figure): figure for figure in other.figures}
    keys = list(first) + [key for key in second if key not in first]
    lines = [
        f"| figure | target | {base.server} | {other.server} | {other.server} / {base.server} |",
        "|---|---|---|---|---|",
    ]
    for key in keys:
        mine, theirs = first.get(key), second.get(key)
        shown = mine or theirs
        assert shown is not None  # every key comes from one of the two runs
        lines.append(
            f"| {shown.name} | {shown.target or '—'} | {_cell(mine)} | {_cell(theirs)} "
            f"| {ratio(mine, theirs)} |"
        )
    lines.append(
        f"| suite wall time | — | {base.seconds:.0f} s ({base.load}) "
        f"| {other.seconds:.0f} s ({other.load}) | {other.seconds / base.seconds:.2f} |"
    )
    return lines
