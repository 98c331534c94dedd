"""A request's cost is weighed before anything runs: the KPI flood is refused, the dashboard is not.

Issue 12, item 9: thirty aliases of `kpi` over 731 days, sent by a readonly
admin eight at a time, took 21 s each and slowed every other admin's page.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    DocumentNode,
    EnumValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    TypeNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
    parse,
    validate,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain.kpi import MAX_WINDOW_DAYS
from backend.domain.models import AdminRole
from backend.domain.pagination import MAX_PAGE_SIZE
from backend.graphql.query_cost import (
    DEFAULT_LIMIT,
    FIELDS,
    FirstArgument,
    Fixed,
    Symbol,
    Weight,
    operation_cost,
)
from backend.graphql.schema import schema
from tests.api import GraphQLClient, RunningServer, graphql_core, serve, settings_for, signed_in
from tests.frontend_contract import contract_documents
from tests.graphql.test_graphql_limits import fan_out, selections
from tests.statements import counting_statements

SCHEMA = graphql_core(schema)
CONTRACT = Path(__file__).resolve().parents[2] / "frontend-contract"
DASHBOARD = (CONTRACT / "dashboard" / "KpiDashboard.graphql").read_text()
TWO_YEARS = {"start": "2024-01-01", "end": "2025-12-31"}  # 731 days, the most a report covers
MARCH = {"start": "2025-03-01", "end": "2025-03-31"}


def kpi_flood(aliases: int = 30) -> str:
    """The attack: the most aliases allowed, each a two-year report (however little it selects)."""
    reports = " ".join(
        f'k{n}: kpi(start: "{TWO_YEARS["start"]}", end: "{TWO_YEARS["end"]}") {{ start }}'
        for n in range(aliases)
    )
    return f"query Flood {{ {reports} }}"


def cost_of(query: str, **variables: Any) -> int:
    cost = operation_cost(SCHEMA, parse(query), variables)
    assert cost is not None
    return cost.units


# --- Over HTTP ---------------------------------------------------------------------------------


@contextmanager
def server_statements(server: RunningServer) -> Iterator[list[str]]:
    """Statements the server runs for requests meanwhile, on its write and read engines."""
    runtime = server.runtime
    with (
        counting_statements(runtime.engine) as writes,
        counting_statements(runtime.read_engine) as reads,
    ):
        both: list[str] = []
        yield both
        both.extend(writes if runtime.engine is runtime.read_engine else writes + reads)


async def test_thirty_two_year_reports_from_readonly_are_refused_before_any_statement(
    staff: dict[AdminRole, GraphQLClient], server: RunningServer
) -> None:
    readonly = staff[AdminRole.READONLY]
    with server_statements(server) as statements:
        answers = await asyncio.gather(*(readonly(kpi_flood()) for _ in range(8)))
    for answer in answers:
        assert answer.error_codes == ["QUERY_TOO_COSTLY"], answer.body
        assert answer.body.get("data") is None
        error = answer.body["errors"][0]
        assert error["extensions"] == {
            "code": "QUERY_TOO_COSTLY",
            "cost": 229_680,  # 30 × (4,000 + 5 × 731 days + 1 field)
            "limit": DEFAULT_LIMIT,
        }
        assert f"Query cost 229680 is over the cost limit of {DEFAULT_LIMIT}" in error["message"]
    assert statements == []  # not even the sign-in was read: nothing ran

    # The same report once is answered, and its statements are seen by the same count.
    with server_statements(server) as statements:
        once = await readonly(kpi_flood(aliases=1))
    assert once.data == {"k0": {"start": TWO_YEARS["start"]}}
    assert statements


async def test_the_dashboard_over_two_years_by_day_is_answered(
    staff: dict[AdminRole, GraphQLClient],
) -> None:
    """The largest document the SPA sends, at its largest: 34,262 of the 50,000."""
    response = await staff[AdminRole.READONLY](DASHBOARD, granularity="DAY", **TWO_YEARS)
    report = response.data["kpi"]
    assert len(report["buckets"]) == MAX_WINDOW_DAYS
    assert len(report["customers"]["newCustomers"]["points"]) == MAX_WINDOW_DAYS
    assert len(report["discounts"]["byKind"]) == 4


async def test_a_request_costing_exactly_the_limit_runs_and_one_unit_more_is_refused(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    at_limit = DASHBOARD
    over = DASHBOARD.replace("  kpi(", "  __typename\n  kpi(", 1)
    limit = cost_of(at_limit, **MARCH)
    assert (limit, cost_of(over, **MARCH)) == (6_262, 6_263)
    token = await signed_in(sessions, AdminRole.READONLY, "boundary@dvorik.test")
    settings = settings_for(engine, graphql_max_query_cost=limit)
    async with serve(settings) as server, httpx.AsyncClient(base_url=server.url) as http:
        client = GraphQLClient(http, token)
        passed = await client(at_limit, **MARCH)
        refused = await client(over, **MARCH)
    assert len(passed.data["kpi"]["buckets"]) == 31
    assert refused.error_codes == ["QUERY_TOO_COSTLY"] and refused.body.get("data") is None
    message = refused.body["errors"][0]["message"]
    assert f"Query cost {limit + 1} is over the cost limit of {limit}" in message


# --- The figures the front-end contract documents --------------------------------------------

CONTRACT_FILES = contract_documents()


def largest_variables(document: DocumentNode) -> dict[str, Any]:
    """What makes an operation of the contract cost most: full pages, two years by day."""
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    variables: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        name, type_name = definition.variable.name.value, _type_name(definition.type)
        if type_name == "Int" and name.lower().endswith("first"):
            variables[name] = MAX_PAGE_SIZE
        elif type_name == "Date":
            variables[name] = TWO_YEARS[name]
        elif type_name == "Granularity":
            variables[name] = "DAY"
    return variables


def _type_name(node: TypeNode) -> str:
    while isinstance(node, NonNullTypeNode | ListTypeNode):
        node = node.type
    assert isinstance(node, NamedTypeNode)
    return node.name.value


@pytest.mark.parametrize("path", CONTRACT_FILES, ids=lambda p: str(p.relative_to(CONTRACT)))
def test_every_contract_operation_is_within_the_limit_at_its_largest(path: Path) -> None:
    document = parse(path.read_text())
    assert not validate(SCHEMA, document)
    cost = operation_cost(SCHEMA, document, largest_variables(document))
    assert cost is not None and cost.units <= DEFAULT_LIMIT, (path.name, cost)


# (document, variables, cost) as frontend-contract/README.md states them.
DOCUMENTED = [
    ("customers/CustomerList.graphql", {}, 1_705),
    ("customers/CustomerList.graphql", {"first": 200}, 5_305),
    ("customers/CustomerCard.graphql", {"id": 1}, 427),
    ("segments/Segments.graphql", {}, 10_121),
    ("dashboard/KpiDashboard.graphql", MARCH, 6_262),
    ("dashboard/KpiDashboard.graphql", {"start": "2025-01-01", "end": "2025-12-31"}, 19_622),
    ("dashboard/KpiDashboard.graphql", {**TWO_YEARS, "granularity": "MONTH"}, 9_517),
    ("dashboard/KpiDashboard.graphql", TWO_YEARS, 34_262),
]


@pytest.mark.parametrize(("path", "variables", "expected"), DOCUMENTED)
def test_the_documented_costs_are_what_the_server_computes(
    path: str, variables: dict[str, Any], expected: int
) -> None:
    assert cost_of((CONTRACT / path).read_text(), **variables) == expected
    assert f"{expected:,}" in (CONTRACT / "README.md").read_text()


def test_the_documented_examples_of_the_model_hold() -> None:
    readme = (CONTRACT / "README.md").read_text()
    examples = {
        "{ customers { edges { node { id } } } }": 102,
        "{ customers(first: 200) { totalCount edges { node { id discounts { id } } } } }": 5_102,
        '{ kpi(start: "2025-01-01", end: "2025-01-01") { start } }': 4_006,
        '{ kpi(start: "2024-01-01", end: "2025-12-31") { start } }': 7_656,
        kpi_flood(): 229_680,
    }
    for query, expected in examples.items():
        assert cost_of(query) == expected, query
        assert f"{expected:,}" in readme, expected


# --- The weights table covers the schema -------------------------------------------------------


def object_fields() -> dict[str, tuple[GraphQLObjectType, str]]:
    return {
        f"{type_.name}.{name}": (type_, name)
        for type_ in SCHEMA.type_map.values()
        if isinstance(type_, GraphQLObjectType) and not type_.name.startswith("__")
        for name in type_.fields
    }


def test_every_list_of_the_schema_has_a_declared_size() -> None:
    fields = object_fields()
    lists = {
        key
        for key, (t, name) in fields.items()
        if is_list_type(get_nullable_type(t.fields[name].type))
    }
    sized = {key for key, weight in FIELDS.items() if weight.items is not None}
    assert lists - sized == set(), "a list without a size in query_cost.FIELDS"
    assert sized - lists == set(), "a size for a field that is not a list"
    assert set(FIELDS) <= set(fields), "a weight for a field the schema does not have"
    paged = {key for key, (t, name) in fields.items() if "first" in t.fields[name].args}
    by_first = {
        key
        for key, weight in FIELDS.items()
        if weight.page or isinstance(weight.items, FirstArgument)
    }
    assert paged == by_first, "every `first` must size a page"


def producers(type_name: str) -> set[str]:
    """The fields whose value is of `type_name` (or a list of it)."""
    return {
        key
        for key, (t, name) in object_fields().items()
        if get_named_type(t.fields[name].type).name == type_name
    }


def reachable_without(stops: set[str]) -> set[str]:
    """Object types reachable from the roots without passing through a field of `stops`."""
    roots = [t for t in (SCHEMA.query_type, SCHEMA.mutation_type, SCHEMA.subscription_type) if t]
    seen: set[str] = {t.name for t in roots}
    pending: list[GraphQLNamedType] = list(roots)
    while pending:
        type_ = pending.pop()
        assert isinstance(type_, GraphQLObjectType)
        for name, definition in type_.fields.items():
            inner = get_named_type(definition.type)
            if f"{type_.name}.{name}" in stops or inner.name in seen:
                continue
            if isinstance(inner, GraphQLObjectType):
                seen.add(inner.name)
                pending.append(inner)
    return seen


def test_page_and_bucket_sizes_are_always_fixed_by_a_field_around_them() -> None:
    page_fields = {key for key, weight in FIELDS.items() if weight.page}
    period_fields = {key for key, weight in FIELDS.items() if weight.period}
    for key, weight in FIELDS.items():
        owner = key.split(".")[0]
        if weight.items is Symbol.PAGE:
            assert producers(owner) <= page_fields, key
        if weight.items is Symbol.BUCKETS:
            assert owner not in reachable_without(period_fields), key
    assert period_fields == {"Query.kpi", "Query.discountStats"}


# --- Linear to compute, and the same as expanding every fragment -------------------------------


@pytest.mark.parametrize("levels", [10, 20, 40, 80])
def test_a_fragment_fan_out_is_costed_in_a_pass_however_large_its_cost(levels: int) -> None:
    cost = operation_cost(SCHEMA, parse(fan_out(levels)))
    assert cost is not None
    assert cost.units == 2**levels  # one __typename, spread 2**levels times
    assert cost.visited == 2 * levels + 2  # each selection as written, once


def reference_cost(document: DocumentNode, variables: dict[str, Any]) -> int | None:
    """The model applied the slow way: every spread expanded where it stands, sizes passed
    down as numbers. None for a cycle (graphql-core refuses it)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    values = {
        d.variable.name.value: int(d.default_value.value)
        for d in operation.variable_definitions or ()
        if isinstance(d.default_value, IntValueNode)
    }
    values.update(variables)

    def argument(node: FieldNode, name: str) -> Any:
        for arg in node.arguments or ():
            if arg.name.value == name:
                value = arg.value
                if isinstance(value, VariableNode):
                    return values[value.name.value]
                if isinstance(value, IntValueNode):
                    return int(value.value)
                assert isinstance(value, StringValueNode | EnumValueNode)
                return value.value
        return None

    def selection(
        node: SelectionSetNode, parent: GraphQLNamedType, sizes: dict[Symbol, int], path: set[str]
    ) -> int | None:
        total = 0
        for item in node.selections:
            cost: int | None
            if isinstance(item, FieldNode):
                cost = field(item, parent, sizes, path)
            elif isinstance(item, InlineFragmentNode):
                cost = selection(item.selection_set, parent, sizes, path)
            else:
                assert isinstance(item, FragmentSpreadNode)
                name = item.name.value
                if name in path:
                    return None
                fragment = fragments[name]
                on = SCHEMA.type_map[fragment.type_condition.name.value]
                cost = selection(fragment.selection_set, on, sizes, path | {name})
            if cost is None:
                return None
            total += cost
        return total

    def field(
        node: FieldNode, parent: GraphQLNamedType, sizes: dict[Symbol, int], path: set[str]
    ) -> int | None:
        name = node.name.value
        if name == "__typename":
            return 1
        assert isinstance(parent, GraphQLObjectType)
        definition = parent.fields[name]
        weight = FIELDS.get(f"{parent.name}.{name}", Weight())
        own, inner_sizes = weight.own, dict(sizes)
        first = argument(node, "first")
        if weight.page:
            inner_sizes[Symbol.PAGE] = min(first, MAX_PAGE_SIZE)
        if weight.period:
            start, end = (int(argument(node, a).rsplit("-", 1)[1]) for a in ("start", "end"))
            days = end - start + 1  # within one month here
            own = weight.period.base + weight.period.per_day * days
            granularity = argument(node, "granularity") or "DAY"
            march = [date(2025, 3, day) for day in range(start, end + 1)]
            buckets = {
                "DAY": len(march),
                "WEEK": len({day.isocalendar()[:2] for day in march}),
                "MONTH": 1,
            }
            inner_sizes[Symbol.BUCKETS] = buckets[granularity]
        inner = 0
        if node.selection_set:
            found = selection(
                node.selection_set, get_named_type(definition.type), inner_sizes, path
            )
            if found is None:
                return None
            inner = found
        if is_list_type(get_nullable_type(definition.type)):
            each = inner if node.selection_set else 1
            size = weight.items
            if isinstance(size, Fixed):
                inner = each * size.items
            elif isinstance(size, FirstArgument):
                inner = each * min(first, MAX_PAGE_SIZE)
            else:
                assert isinstance(size, Symbol)
                inner = each * sizes[size]
        return own + inner

    unfixed = {Symbol.PAGE: MAX_PAGE_SIZE, Symbol.BUCKETS: MAX_WINDOW_DAYS}
    return selection(operation.selection_set, SCHEMA.type_map["Query"], unfixed, set())


BODIES = {
    "Query": [
        "__typename",
        "customers(first: {first}) {{ totalCount edges {{ node {{ {Customer} }} }} }}",
        "customers(first: $first) {{ edges {{ cursor node {{ {Customer} }} }} }}",
        'kpi(start: "2025-03-{a:02d}", end: "2025-03-{b:02d}", granularity: {granularity}) '
        "{{ buckets customers {{ total newCustomers {{ {Series} }} }} }}",
        "segments {{ id preview(first: {first}) {{ {Customer} }} }}",
        "previewSegment(rules: {{}}, first: {first}) {{ count sample {{ {Customer} }} }}",
    ],
    "Customer": ["id", "tags", "discounts {{ id customer {{ id }} }}", "... on Customer {{ id }}"],
    "Series": ["name", "total", "points {{ value }}"],
}


@st.composite
def costly_documents(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """Fragments on three types, each spreading earlier ones of its type (fan-out) and now
    and then a later one (maybe a cycle), inside pages, lists and reports, with `first`
    from literals and from a variable."""
    kinds = draw(st.lists(st.sampled_from(sorted(BODIES)), min_size=1, max_size=8))
    names = [f"{kind[0]}{n}" for n, kind in enumerate(kinds)]
    aliases = itertools.count()

    def spreads(kind: str, before: int) -> str:
        earlier = [
            name for name, k in zip(names[:before], kinds[:before], strict=True) if k == kind
        ]
        later = [name for name, k in zip(names[before:], kinds[before:], strict=True) if k == kind]
        chosen = (
            [draw(st.sampled_from(earlier)) for _ in range(draw(st.integers(0, 2)))]
            if earlier
            else []
        )
        if later and draw(st.integers(0, 4)) == 0:
            chosen.append(draw(st.sampled_from(later)))
        return " ".join(["__typename", *(f"...{name}" for name in chosen)])

    def body(kind: str, before: int) -> str:
        parts = []
        for template in draw(st.lists(st.sampled_from(BODIES[kind]), min_size=1, max_size=3)):
            a = draw(st.integers(1, 31))
            text = template.format(
                first=draw(st.integers(1, 250)),
                a=a,
                b=draw(st.integers(a, 31)),
                granularity=draw(st.sampled_from(["DAY", "WEEK", "MONTH"])),
                Customer=spreads("Customer", before),
                Series=spreads("Series", before),
            )
            parts.append(f"x{next(aliases)}: {text}" if template[0].isalpha() else text)
        return " ".join([*parts, spreads(kind, before)])

    texts = [
        f"fragment {name} on {kind} {{ {body(kind, n)} }}"
        for n, (name, kind) in enumerate(zip(names, kinds, strict=True))
    ]
    operation = f"query Q($first: Int! = 7) {{ {body('Query', len(names))} }}"
    variables = draw(st.sampled_from([{}, {"first": draw(st.integers(1, 250))}]))
    return " ".join([operation, *texts]), variables


@settings(max_examples=200, deadline=None)
@given(case=costly_documents())
def test_cost_reads_each_selection_once_and_equals_full_expansion(
    case: tuple[str, dict[str, Any]],
) -> None:
    text, variables = case
    document = parse(text)
    cost = operation_cost(SCHEMA, document, variables)
    assert cost is not None
    assert cost.visited <= selections(document), text
    reference = reference_cost(document, variables)
    if reference is not None:
        assert cost.units == reference, text


def test_the_operation_that_runs_is_the_one_costed() -> None:
    document = parse(f"query Cheap {{ __typename }} {kpi_flood()}")
    cheap, flood = (operation_cost(SCHEMA, document, {}, name) for name in ("Cheap", "Flood"))
    assert cheap is not None and cheap.units == 1
    assert flood is not None and flood.units == 229_680
    assert operation_cost(SCHEMA, document, {}, None) is None  # graphql-core asks for a name
