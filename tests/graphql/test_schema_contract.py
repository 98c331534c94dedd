"""schema.graphql is the code's schema, and every SPA operation validates against it.

Every operation validates against the released schema too (frontend-contract/
schema.released.graphql): an SPA build made against the release keeps working.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema, parse, validate

from backend.graphql.schema import schema
from tests.frontend_contract import CURRENT_SCHEMA, RELEASED_SCHEMA, contract_documents


def test_checked_in_schema_matches_the_code() -> None:
    checked_in = CURRENT_SCHEMA.read_text()
    assert checked_in == schema.as_str() + "\n", (
        "schema.graphql is stale: run `dvorik export-schema > schema.graphql` and commit it"
    )


@cache
def built(sdl_file: Path) -> GraphQLSchema:
    return build_schema(sdl_file.read_text())


@pytest.mark.parametrize("document", contract_documents(), ids=lambda path: path.name)
def test_frontend_operation_validates_against_the_schema(document: Path) -> None:
    errors = validate(built(CURRENT_SCHEMA), parse(document.read_text()))
    assert errors == [], f"{document.name}: {[error.message for error in errors]}"


@pytest.mark.parametrize("document", contract_documents(), ids=lambda path: path.name)
def test_frontend_operation_validates_against_the_released_schema(document: Path) -> None:
    errors = validate(built(RELEASED_SCHEMA), parse(document.read_text()))
    assert errors == [], (
        f"{document.name} does not validate against {RELEASED_SCHEMA.name}: "
        f"{[error.message for error in errors]}. The contract uses only what the SPA team "
        "was told of: release the schema first (frontend-contract/README.md, "
        "'Keeping the contract honest')"
    )
