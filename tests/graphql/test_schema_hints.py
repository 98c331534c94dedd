"""In production a refused document's messages name nothing the request did not write.

Issue 12, item 8: with introspection off, anonymous callers still got
"Did you mean 'customers'…" and input type names in validation messages, which
map the schema one typo at a time. Production (the IDE setting off, its
default there) now answers with the names the request wrote and `[hidden]`
for the rest; development keeps graphql-core's full messages.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from graphql import GraphQLSyntaxError, parse, validate
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.graphql.schema import create_schema
from tests.api import GraphQLClient, graphql_core, serve, settings_for
from tests.frontend_contract import contract_documents

PRODUCTION = create_schema(introspection=False)
PRODUCTION_SHAPE = graphql_core(PRODUCTION)
TYPE_NAMES = frozenset(name for name in PRODUCTION_SHAPE.type_map if not name.startswith("__"))
WORD = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
HIDDEN = "[hidden]"  # what production shows instead of a name the request did not write

# Typos and slips a client makes, each refused by validation or variable coercion.
MISTAKES: list[tuple[str, dict[str, Any]]] = [
    ("{ customer }", {}),
    ("{ custmer { id } }", {}),
    ("{ customers(frist: 1) { totalCount } }", {}),
    ('{ customers(filter: {serch: "мари"}) { totalCount } }', {}),
    ("{ customers(filter: {status: [ACTIV]}) { totalCount } }", {}),
    ("query($f: CustomerFiltr) { customers(filter: $f) { totalCount } }", {}),
    ("query($o: CustomerOrder) { customers(orderBy: $o) { totalCount } }", {"o": {"feld": "ID"}}),
    ("{ customer(id: 1) { idd } }", {}),
    ("{ customer(id: 1) { id { x } } }", {}),
    ('{ customer(id: "x") { id } }', {}),
    ("query($n: String) { customer(id: $n) { id } }", {}),
    ('{ kpi(start: "2025-01-01", end: "2025-01-02", granularity: DAYS) { start } }', {}),
    ("{ ... on Customr { id } }", {}),
    ('mutation { createAdmin(input: {email: "a@b.c"}) { id } }', {}),
    ('mutation { login(email: "a@b.c") { token } }', {}),
    ("{ customer(id: 1) @skp(if: true) { id } }", {}),
]


def unwritten_names(message: str, query: str, variables: dict[str, Any]) -> set[str]:
    """Names of schema types in `message` that the request itself does not contain."""
    written = set(WORD.findall(query + repr(variables))) | {"Query", "Mutation", "Subscription"}
    return {word for word in WORD.findall(message) if word in TYPE_NAMES} - written


async def test_production_refuses_a_typo_without_suggestions_or_type_names(
    engine: AsyncEngine,
) -> None:
    settings = settings_for(engine, graphql_ide=False)  # production's default
    async with serve(settings) as server, httpx.AsyncClient(base_url=server.url) as http:
        anonymous = GraphQLClient(http)
        typo = await anonymous("{ customer }")
        answers = [await anonymous(query, **variables) for query, variables in MISTAKES]
    messages = [error["message"] for error in typo.body["errors"]]
    assert set(typo.error_codes) == {"INVALID_QUERY"} and typo.body.get("data") is None
    assert messages == [
        f"Field 'customer' of type {HIDDEN} must have a selection of subfields.",
        f"Argument {HIDDEN} of type {HIDDEN} is required, but it was not provided.",
    ]
    for (query, variables), answer in zip(MISTAKES, answers, strict=True):
        assert set(answer.error_codes) == {"INVALID_QUERY"}, (query, answer.body)
        for error in answer.body["errors"]:
            assert "Did you mean" not in error["message"], query
            assert not unwritten_names(error["message"], query, variables), (query, error)


async def test_development_keeps_suggestions_and_type_names(graphql: GraphQLClient) -> None:
    typo = await graphql("{ custmer { id } }")
    assert typo.error_code == "INVALID_QUERY"
    assert typo.body["errors"][0]["message"] == (
        "Cannot query field 'custmer' on type 'Query'. Did you mean 'customer' or 'customers'?"
    )
    input_typo = await graphql('{ customers(filter: {serch: "x"}) { totalCount } }')
    message = input_typo.body["errors"][0]["message"]
    assert "'CustomerFilter'" in message and "Did you mean 'search'" in message


CONTRACT_DOCUMENTS = [path.read_text() for path in contract_documents()]


@st.composite
def slips(draw: st.DrawFn) -> str:
    """A contract document with one name mistyped: a letter dropped, doubled or changed."""
    text = draw(st.sampled_from(CONTRACT_DOCUMENTS))
    text = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    names = list(WORD.finditer(text))
    name = draw(st.sampled_from(names))
    at = draw(st.integers(name.start(), name.end() - 1))
    letter = draw(st.sampled_from("aeiostxz_"))
    change = draw(st.sampled_from(["drop", "double", "swap"]))
    replacement = {"drop": "", "double": text[at] * 2, "swap": letter}[change]
    return text[:at] + replacement + text[at + 1 :]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=slips())
async def test_a_mistyped_contract_document_names_only_what_it_wrote(query: str) -> None:
    assume(not _parses(query) or validate(PRODUCTION_SHAPE, parse(query)))
    result = await PRODUCTION.execute(query)
    assert result.errors
    for error in result.errors:
        assert (error.extensions or {}).get("code") == "INVALID_QUERY", (query, error)
        assert "Did you mean" not in error.message, query
        assert not unwritten_names(error.message, query, {}), (query, error.message)


def _parses(query: str) -> bool:
    try:
        parse(query)
    except GraphQLSyntaxError:  # a slip may break the syntax: refused all the same
        return False
    return True
