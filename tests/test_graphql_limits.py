"""Abusive documents are refused before they reach the database."""

from __future__ import annotations

from backend.domain.models import AdminRole
from backend.graphql.schema import MAX_ALIASES, MAX_DEPTH
from tests.api import GraphQLClient


async def test_too_deep_a_query_is_refused(staff: dict[AdminRole, GraphQLClient]) -> None:
    nested = "discounts { customer { " * 4 + "id" + " } }" * 4
    query = f"{{ customers(first: 1) {{ edges {{ node {{ {nested} }} }} }} }}"
    response = await staff[AdminRole.OWNER](query)
    assert response.error_codes and set(response.error_codes) == {"QUERY_TOO_COMPLEX"}
    assert "data" not in response.body or response.body["data"] is None
    assert MAX_DEPTH < 4 * 2 + 3


async def test_too_many_aliases_are_refused(staff: dict[AdminRole, GraphQLClient]) -> None:
    aliases = " ".join(f"a{i}: me {{ email }}" for i in range(MAX_ALIASES + 1))
    response = await staff[AdminRole.OWNER](f"{{ {aliases} }}")
    assert set(response.error_codes) == {"QUERY_TOO_COMPLEX"}


async def test_a_huge_document_is_refused(staff: dict[AdminRole, GraphQLClient]) -> None:
    fields = " ".join(["__typename"] * 4000)
    response = await staff[AdminRole.OWNER](f"{{ {fields} }}")
    assert set(response.error_codes) == {"QUERY_TOO_COMPLEX"}


async def test_unknown_fields_and_broken_syntax_are_invalid_queries(
    staff: dict[AdminRole, GraphQLClient],
) -> None:
    owner = staff[AdminRole.OWNER]
    assert (await owner("{ nothingHere }")).error_code == "INVALID_QUERY"
    assert (await owner("{ me { email ")).error_code == "INVALID_QUERY"
    wrong_type = await owner("query($n: Int!) { customer(id: $n) { id } }", n="seven")
    assert wrong_type.error_code == "INVALID_QUERY"
