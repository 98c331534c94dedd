"""schema.graphql is the code's schema, and every SPA operation validates against it."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import build_schema, parse, validate

from backend.graphql.schema import schema

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "frontend-contract"


def test_checked_in_schema_matches_the_code() -> None:
    checked_in = (ROOT / "schema.graphql").read_text()
    assert checked_in == schema.as_str() + "\n", (
        "schema.graphql is stale: run `dvorik export-schema > schema.graphql` and commit it"
    )


def contract_documents() -> list[Path]:
    return sorted(CONTRACT.glob("**/*.graphql"))


@pytest.mark.parametrize("document", contract_documents(), ids=lambda path: path.name)
def test_frontend_operation_validates_against_the_schema(document: Path) -> None:
    errors = validate(
        build_schema((ROOT / "schema.graphql").read_text()), parse(document.read_text())
    )
    assert errors == [], f"{document.name}: {[error.message for error in errors]}"
