"""What the bench made faster still gives the same answers, and its tools still run.

The suite itself, run end to end at its smallest size on MariaDB and
PostgreSQL, is tests/ops/test_bench_databases.py.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import customer_search, segments
from backend.domain.models import Customer, CustomerStatus
from backend.domain.pagination import Direction
from tests.factories import make_customer

pytestmark = pytest.mark.slow


async def test_common_tags_switch_the_list_to_a_per_row_plan_with_the_same_answers(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the bench made faster must not change who is listed.

    With a common tag (at least `COMMON_TAG` members) the customer list and the
    segment preview check tags row by row; with a rare one they start from its
    members. Lowered so a small shop has both, each plan must list the same
    customers, in the same order, as the plain rules say.
    """
    start = datetime(2025, 3, 1, tzinfo=UTC)
    async with sessions() as session, session.begin():
        for number in range(30):
            tags = ["сладкоежка"] if number % 2 else []
            if number % 7 == 0:
                tags.append("vip")
            status = CustomerStatus.ACTIVE if number % 5 else CustomerStatus.BLOCKED
            await make_customer(
                session, tags=tags, status=status, created_at=start + timedelta(hours=number)
            )
    monkeypatch.setattr(segments.members, "COMMON_TAG", 6)  # сладкоежка: 15 members, vip: 5
    now = datetime(2025, 4, 1, tzinfo=UTC)
    order = customer_search.ordering("created_at", Direction.DESC)
    for raw, common in (
        ({"tags_any": ["сладкоежка"], "status": ["active"]}, True),
        ({"tags_all": ["сладкоежка", "vip"]}, False),
        ({"tags_any": ["vip"], "tags_none": ["сладкоежка"]}, False),
        ({"status": ["active"]}, False),
    ):
        rules = segments.parse_rules(raw)
        async with sessions() as session:
            assert await segments.tags_are_common(session, rules) is common, raw
            expected = [
                customer.id
                for customer in await session.scalars(
                    customer_search.query(
                        customer_search.CustomerFilter(rules=rules), now=now
                    ).order_by(Customer.created_at.desc(), Customer.id.desc())
                )
            ]
            listed = await customer_search.page(
                session,
                customer_search.CustomerFilter(rules=rules),
                order,
                now=now,
                first=4,
                after=None,
            )
            preview = await segments.page_members(session, rules, now=now, limit=4)
            per_row = await session.scalars(
                select(Customer.id)
                .where(*segments.conditions(rules, now, per_row_tags=True))
                .order_by(Customer.id)
            )
        assert [row.id for row in listed.rows] == expected[:4], raw
        assert [row.id for row in preview] == sorted(expected)[:4], raw
        assert list(per_row) == sorted(expected), raw


def test_suite_times_reports_each_file_of_a_run(tmp_path: Path) -> None:
    """`python -m bench.suite_times REPORT` turns a real pytest run into the per-file table."""
    report = tmp_path / "run.xml"
    files = ["tests/ops/test_packaging.py", "tests/ops/test_configuration.py"]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            *files,
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    table = subprocess.run(
        [sys.executable, "-m", "bench.suite_times", str(report)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    rows = {line.split("|")[1].strip(" `"): line for line in table.splitlines()[2:]}
    assert set(rows) == {*files, "**all 2 files**"}
    cases = len(ElementTree.parse(report).findall(".//testcase"))  # noqa: S314 - our own run
    assert cases > 10
    assert [cell.strip() for cell in rows["**all 2 files**"].split("|")[2:4]] == [str(cases), "0"]
