"""Abusive documents are refused before they reach the database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    Visitor,
    parse,
    visit,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.domain.models import AdminRole
from backend.graphql.document_limits import FIELDS_MARKER, measure
from backend.graphql.query_cost import DEFAULT_LIMIT, operation_cost
from backend.graphql.schema import MAX_ALIASES, MAX_DEPTH, MAX_DOCUMENT_LENGTH, schema
from tests.api import GraphQLClient, graphql_core
from tests.processes import DVORIK, environment, free_port, running, wait_for_http

SHAPE = graphql_core(schema)  # the schema's types, fields and arguments


async def test_too_deep_a_query_is_refused(staff: dict[AdminRole, GraphQLClient]) -> None:
    nested = "discounts { customer { " * 4 + "id" + " } }" * 4
    query = f"{{ customers(first: 1) {{ edges {{ node {{ {nested} }} }} }} }}"
    response = await staff[AdminRole.OWNER](query)
    # Too costly as well (20 discounts a customer, four times over), yet one refusal, one code.
    cost = operation_cost(SHAPE, parse(query))
    assert cost is not None and cost.units > DEFAULT_LIMIT
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


def fan_out(levels: int) -> str:
    """Each fragment spreads the one before twice: 2**levels fields once expanded."""
    fragments = ["fragment F0 on Query { __typename }"]
    fragments += [
        f"fragment F{n} on Query {{ ...F{n - 1} ...F{n - 1} }}" for n in range(1, levels + 1)
    ]
    return " ".join([f"query {{ ...F{levels} }}", *fragments])


async def test_a_fragment_fan_out_is_refused_by_its_expanded_size(
    graphql: GraphQLClient,
) -> None:
    response = await graphql(fan_out(12))
    assert set(response.error_codes) == {"QUERY_TOO_COMPLEX"}
    assert any(FIELDS_MARKER in e["message"] for e in response.body["errors"])
    assert response.body.get("data") is None
    small = await graphql(fan_out(5))  # 32 fields: an ordinary document
    assert small.error_codes == [] and small.body["data"] == {"__typename": "Query"}


def test_health_answers_beside_anonymous_fan_outs(tmp_path: Path) -> None:
    """Validation cannot hold the event loop: /health answers while the worst documents arrive.

    A real `dvorik serve` process: before the one-pass limits, one 1.6 kB
    fan-out (40 levels) held its event loop for minutes and /health with it.
    """
    port = free_port()
    env = environment(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'limits.db'}")
    with running([*DVORIK, "serve", "--port", str(port)], env) as server:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/health", server, seconds=60)

        def attack() -> set[str]:
            body = {"query": fan_out(40)}
            answer = httpx.post(f"{base}/graphql", json=body, timeout=30).json()
            return {error["extensions"]["code"] for error in answer["errors"]}

        with ThreadPoolExecutor(4) as pool:
            attacks = [pool.submit(attack) for _ in range(4)]
            health = httpx.get(f"{base}/health", timeout=10)
            codes = [attack.result(timeout=60) for attack in attacks]
    assert health.status_code == 200
    assert codes == [{"QUERY_TOO_COMPLEX"}] * 4


def selections(document: DocumentNode) -> int:
    """Selection nodes as written: the size validation may read in proportion to."""
    count = 0

    class Count(Visitor):
        def enter(self, node: Node, *_: object) -> None:
            nonlocal count
            count += isinstance(node, FieldNode | FragmentSpreadNode | InlineFragmentNode)

    visit(document, Count())
    return count


def expanded(document: DocumentNode) -> tuple[int, int] | None:
    """(fields, aliases) by expanding every spread in full (the slow reference); None for a
    cycle, which graphql-core refuses on its own and whose count depends on the path."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }

    def walk(node: SelectionSetNode, path: frozenset[str]) -> tuple[int, int] | None:
        fields = aliases = 0
        for selection in node.selections:
            inner: tuple[int, int] | None = (0, 0)
            if isinstance(selection, FieldNode):
                fields, aliases = fields + 1, aliases + bool(selection.alias)
                if selection.selection_set:
                    inner = walk(selection.selection_set, path)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in path:
                    return None
                inner = walk(fragments[name].selection_set, path | {name})
            if inner is None:
                return None
            fields, aliases = fields + inner[0], aliases + inner[1]
        return fields, aliases

    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return walk(operation.selection_set, frozenset())


@st.composite
def fragment_documents(draw: st.DrawFn) -> str:
    """Fragments spreading earlier ones (fan-out), sometimes later ones (cycles), and fields."""
    count = draw(st.integers(1, 9))
    fragments = []
    for n in range(count):
        body = [f"a{n}x{k}: __typename" for k in range(draw(st.integers(0, 2)))]
        body += ["__typename"] * draw(st.integers(0, 3))
        if n:
            body += [f"...F{draw(st.integers(0, n - 1))}" for _ in range(draw(st.integers(0, 3)))]
        if draw(st.booleans()):
            body.append(f"...F{draw(st.integers(0, count - 1))}")  # may close a cycle
        fragments.append(f"fragment F{n} on Query {{ {' '.join(body) or '__typename'} }}")
    root = " ".join(f"...F{n}" for n in draw(st.lists(st.integers(0, count - 1), min_size=1)))
    return " ".join([f"query Q {{ {root} }}", *fragments])


@settings(max_examples=300, deadline=None)
@given(text=fragment_documents())
def test_limits_read_each_node_a_bounded_number_of_times(text: str) -> None:
    document = parse(text)
    shape = measure(document)
    assert shape.visited <= 2 * selections(document), (shape.visited, text)
    reference = expanded(document)
    if reference is not None:
        assert (shape.operations["Q"].fields, shape.operations["Q"].aliases) == reference


async def test_a_document_padded_with_a_long_comment_is_refused_before_it_is_read(
    staff: dict[AdminRole, GraphQLClient],
) -> None:
    """Comments are not tokens: a valid query behind 200 kB of comment used to be read and run."""
    padded = "#" + "x" * 200_000 + "\n{ me { email } }"
    response = await staff[AdminRole.OWNER](padded)
    assert set(response.error_codes) == {"QUERY_TOO_COMPLEX"}
    assert response.body["errors"][0]["message"] == (
        f"The document is {len(padded)} characters long. Allowed: {MAX_DOCUMENT_LENGTH}"
    )
    assert response.body.get("data") is None
    within = "#" + "x" * (MAX_DOCUMENT_LENGTH - 40) + "\n{ me { email } }"
    assert (await staff[AdminRole.OWNER](within)).data["me"]["email"]
