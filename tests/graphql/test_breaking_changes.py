"""No silent breaking changes: the SPA team hears of every change that can break its build.

The API as the code has it (what `dvorik export-schema` prints) is compared with the
schema last released to the SPA team (frontend-contract/schema.released.graphql), and
CHANGELOG.md must record that release. The rules are in tests/schema_releases.py; the
second half of this file tries them on edited copies of the released schema.
"""

from __future__ import annotations

from datetime import UTC, datetime

from graphql import build_schema, parse, validate

from backend.graphql.schema import schema
from tests.frontend_contract import CHANGELOG, RELEASED_SCHEMA, contract_documents
from tests.schema_releases import (
    RELEASED_PATH,
    announcement,
    release_problems,
    released_version,
    schema_changes,
)

CURRENT = schema.as_str() + "\n"  # what `dvorik export-schema` prints: schema.graphql
RELEASED = RELEASED_SCHEMA.read_text()


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def test_every_change_that_can_break_the_spa_is_released() -> None:
    version = released_version(RELEASED)
    assert version is not None, f"{RELEASED_PATH} must start with '# Released as X.Y.Z on DATE'"
    changes = schema_changes(RELEASED, CURRENT)
    assert not changes, announcement(changes, version, CURRENT, today())


def test_the_changelog_records_the_released_schema() -> None:
    problems = release_problems(CHANGELOG.read_text(), RELEASED)
    assert problems == [], "\n".join(problems)


# --- The check, tried on edited copies of the released schema -------------------------------
# (edits of the release, not of the code's schema: work in progress on the code fails only the
# check above)


def edited(sdl: str, block: str, old: str, new: str) -> str:
    """`sdl` with `old` replaced by `new` inside the definition that opens with `block {`."""
    start = sdl.index(f"\n{block} {{\n")
    end = sdl.index("\n}", start)
    assert sdl[start:end].count(old) == 1, f"{block} has no {old!r}: edit another one"
    return sdl[:start] + sdl[start:end].replace(old, new) + sdl[end:]


def invalid_documents(sdl: str) -> list[str]:
    shape = build_schema(sdl)
    return [path.name for path in contract_documents() if validate(shape, parse(path.read_text()))]


def test_renaming_a_field_the_spa_reads_is_a_breaking_change() -> None:
    renamed = edited(RELEASED, "type Customer", "\n  firstName:", "\n  givenName:")

    changes = schema_changes(RELEASED, renamed)

    assert changes.breaking == ["Field Customer.firstName was removed."]
    assert changes.dangerous == []
    message = announcement(changes, (1, 0, 0), renamed, "2026-12-07")
    assert "Compared with the released schema 1.0.0" in message
    assert "  - Field Customer.firstName was removed." in message
    assert "Announce it as release 2.0.0 in this same change" in message
    assert "## [2.0.0] - 2026-12-07" in message and "### Breaking" in message
    assert '{ echo "# Released as 2.0.0 on 2026-12-07"; cat schema.graphql; }' in message
    broken_by_it = set(invalid_documents(renamed)) - set(invalid_documents(RELEASED))
    assert {"CustomerCard.graphql", "CustomerList.graphql"} <= broken_by_it


def test_removing_an_enum_value_is_a_breaking_change() -> None:
    without_paused = edited(RELEASED, "enum BroadcastStatus", "\n  PAUSED\n", "\n")

    changes = schema_changes(RELEASED, without_paused)

    assert changes.breaking == ["Enum value BroadcastStatus.PAUSED was removed."]
    message = announcement(changes, (1, 0, 0), without_paused, "2026-12-07")
    assert "  - Enum value BroadcastStatus.PAUSED was removed." in message
    assert "release 2.0.0" in message


def test_a_new_optional_field_needs_no_release() -> None:
    with_nickname = edited(RELEASED, "type Customer", "\n  note:", "\n  nickname: String\n  note:")

    changes = schema_changes(RELEASED, with_nickname)

    assert not changes and changes.breaking == [] and changes.dangerous == []


def test_a_new_enum_value_is_dangerous_and_needs_a_minor_release() -> None:
    """An SPA build that switches over every BroadcastStatus it knows meets one it does not."""
    with_archived = edited(RELEASED, "enum BroadcastStatus", "\n  FAILED", "\n  FAILED\n  ARCHIVED")

    changes = schema_changes(RELEASED, with_archived)

    assert changes.breaking == []
    assert changes.dangerous == ["Enum value BroadcastStatus.ARCHIVED was added."]
    message = announcement(changes, (1, 3, 1), with_archived, "2026-12-07")
    assert "Dangerous (SPA builds against the release may misbehave):" in message
    assert "release 1.4.0" in message and "### Changed" in message
    assert "### Breaking" not in message
