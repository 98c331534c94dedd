"""Schemathesis fuzzes the admin GraphQL API as each role, thousands of documents each.

Schemathesis (hypothesis-graphql underneath) writes documents for every query
and mutation of the schema the running server introspects: every argument,
every nested selection, literal values from the whole range of each type, and
for our scalars (Date, DateTime, Decimal, JSON) values chosen to hurt: naive
and far-future datetimes, segment rules with junk in each field, huge decimals.
Each role (owner, marketing, readonly) sends at least `DVORIK_FUZZ_EXAMPLES`
(1,000 by default; `make fuzz` sends 10,000) to a server holding a small demo
shop, every draw from a fixed seed per role, so a failure repeats run after run.

Every answer must be:
* not a 5xx, and a JSON object with `data` and/or `errors`;
* inside the schema: each value has the type the schema declares for the field
  selected (non-null is non-null, Int is 32-bit, DateTime carries an offset,
  enums are known values) - schemathesis's own GraphQL conformance check runs too;
* masked: every error carries `extensions.code` from `ErrorCode`, never
  INTERNAL, and no Python exception or SQL text leaks into a message;
* within the role: a root field the role may not call answers FORBIDDEN (or the
  document is refused first), and fields hidden from the role come back null.

The app runs on SQLite only (MariaDB would double the time and this test is
about what the API answers, not the database), called in-process through
httpx's ASGI transport with its lifespan: the whole app and its middleware,
without uvicorn's socket round trip, which thousands of requests would feel.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import response_schema_conformance
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.generation.case import Case
from schemathesis.graphql import nodes
from schemathesis.schemas import APIOperation
from schemathesis.specs.graphql.schemas import GraphQLSchema
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend import demo_data
from backend.app import create_app
from backend.domain import templates
from backend.domain.clock import utcnow
from backend.domain.database import create_sessionmaker
from backend.domain.errors import ErrorCode
from backend.domain.models import AdminRole
from backend.graphql import tokens
from backend.graphql.permissions import RANK, ROLE_MATRIX
from tests.api import JWT_SECRET, settings_for
from tests.databases import fresh_database, run_alembic
from tests.factories import make_admin
from tests.fuzzing import draw, operations_of

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("DVORIK_FUZZ_EXAMPLES", "1000"))
SEEDS = {AdminRole.OWNER: 7001, AdminRole.MARKETING: 7002, AdminRole.READONLY: 7003}
NEGATIVE = GenerationMode.NEGATIVE  # a fifth of the cases: documents the schema must refuse
CODES = frozenset(code.value for code in ErrorCode)
# What refuses a document before any resolver runs (validation precedes permissions):
# a generated document may be too costly (full pages nested in lists) before it is forbidden.
REFUSALS_BEFORE_EXECUTION = frozenset({"INVALID_QUERY", "QUERY_TOO_COMPLEX", "QUERY_TOO_COSTLY"})
# Text that only an unmasked Python exception or a database error would put in a message.
LEAKS = re.compile(
    r"Traceback|File \"|sqlalchemy|sqlite3|asyncmy|pymysql|\(Background on this error"
    r"|object has no attribute|NoneType|KeyError|AttributeError|TypeError|IndexError"
    r"|OverflowError|ZeroDivisionError|RecursionError|UnboundLocalError|AssertionError"
    r"|<class '|<built-in|coroutine",
    re.IGNORECASE,
)

# --- Values for our scalars: the edges, not just the happy middle ------------------------

RULE_NAMES = [
    "tags_any",
    "tags_all",
    "tags_none",
    "status",
    "subscribed_from",
    "subscribed_to",
    "birthday_month",
    "has_active_discount",
    "redeemed_count_at_least",
    "last_seen_after",
    "last_seen_before",
    "source",
]
EDGE_MOMENTS = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00",
    "1899-12-31T23:59:59+00:00",
    "9999-12-31T23:59:59-12:00",
    "9999-12-31T23:59:59.999999+00:00",
    "2025-02-29T00:00:00Z",
    "2025-03-01T00:00:00+10:00",
    "2025-03-01",
    "yesterday",
    "",
]
# Each branch is about as likely as the others, so the edges come up often.
moments = st.one_of(
    st.sampled_from(EDGE_MOMENTS),
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.timezones()
    ).map(datetime.isoformat),
    st.datetimes(timezones=st.timezones()).map(datetime.isoformat),
    st.datetimes().map(datetime.isoformat),  # naive: must be refused, not guessed
)
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
rule_values = st.one_of(
    st.lists(st.text(max_size=12), max_size=4),
    st.lists(st.sampled_from(["vip", "опт", "active", "blocked", "instagram"]), max_size=3),
    st.integers(min_value=-5, max_value=15),
    moments,
    junk,
)
json_values = st.recursive(
    junk,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.from_regex(r"\A[a-z_]{1,12}\Z"), inner, max_size=4),
    ),
    max_leaves=12,
)
rule_sets = st.dictionaries(st.sampled_from(RULE_NAMES), rule_values, max_size=4)


def value_node(value: Any) -> graphql.ValueNode:
    """A JSON value as a GraphQL literal (object keys are GraphQL names)."""
    if value is None:
        return nodes.Null
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return nodes.Float(value)
    if isinstance(value, str):
        return nodes.String(value)
    if isinstance(value, list):
        return nodes.List([value_node(item) for item in value])
    return nodes.Object(
        [
            graphql.ObjectFieldNode(name=graphql.NameNode(value=key), value=value_node(item))
            for key, item in value.items()
        ]
    )


schemathesis.graphql.scalar("JSON", st.one_of(rule_sets, json_values, st.just({})).map(value_node))
schemathesis.graphql.scalar("DateTime", moments.map(nodes.String))
schemathesis.graphql.scalar(
    "Date",
    st.one_of(
        st.dates().map(date.isoformat),
        st.sampled_from(["2025-02-29", "0000-01-01", "20250301", "", "2025-13-01"]),
    ).map(nodes.String),
)
schemathesis.graphql.scalar(
    "Decimal",
    st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False).map(str).map(nodes.String),
        st.sampled_from(["NaN", "Infinity", "-0", "1e999999", "12,50", ""]).map(nodes.String),
        st.integers().map(nodes.Int),
    ),
)

# --- The answers' shape, checked against the schema --------------------------------------


def scalar_fits(type_name: str, value: Any) -> bool:
    if type_name == "Int":
        return isinstance(value, int) and not isinstance(value, bool) and -(2**31) <= value < 2**31
    if type_name == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_name in ("String", "ID"):
        return isinstance(value, str)
    if type_name == "Boolean":
        return isinstance(value, bool)
    if type_name == "Date":
        return isinstance(value, str) and _parses(date.fromisoformat, value)
    if type_name == "DateTime":
        return isinstance(value, str) and _aware(value)
    if type_name == "Decimal":
        return isinstance(value, str) and _finite_decimal(value)
    return type_name == "JSON"


def _parses(parse: Any, value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True


def _aware(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def _finite_decimal(value: str) -> bool:
    try:
        return Decimal(value).is_finite()
    except InvalidOperation:
        return False


@dataclass
class ShapeCheck:
    """Walks `data` beside the document's selections; collects what does not fit."""

    schema: graphql.GraphQLSchema
    role: AdminRole
    problems: list[str] = field(default_factory=list)

    def run(self, document: graphql.DocumentNode, data: Any) -> list[str]:
        operation = next(
            node
            for node in document.definitions
            if isinstance(node, graphql.OperationDefinitionNode)
        )
        root = self.schema.get_root_type(operation.operation)
        assert root is not None
        if data is not None:
            self.object(root, operation.selection_set, data, root.name)
        return self.problems

    def object(
        self,
        parent: graphql.GraphQLObjectType,
        selections: graphql.SelectionSetNode,
        value: Any,
        path: str,
    ) -> None:
        if not isinstance(value, dict):
            self.problems.append(f"{path}: expected an object, got {value!r}")
            return
        for node in self.fields(selections):
            key = node.alias.value if node.alias else node.name.value
            if key not in value:
                self.problems.append(f"{path}.{key}: missing")
                continue
            if node.name.value == "__typename":
                if value[key] != parent.name:
                    self.problems.append(f"{path}.{key}: {value[key]!r} is not {parent.name}")
                continue
            definition = parent.fields[node.name.value]
            coordinate = f"{parent.name}.{node.name.value}"
            required = ROLE_MATRIX.get(coordinate)
            guarded = parent.name not in ("Query", "Mutation") and required is not None
            hidden = guarded and required is not None and RANK[self.role] < RANK[required]
            if hidden and value[key] is not None:
                self.problems.append(f"{path}.{key}: shown to {self.role.value}")
            self.value(definition.type, node.selection_set, value[key], f"{path}.{key}")

    def fields(self, selections: graphql.SelectionSetNode) -> Iterator[graphql.FieldNode]:
        for node in selections.selections:
            if isinstance(node, graphql.FieldNode):
                yield node
            elif isinstance(node, graphql.InlineFragmentNode):
                yield from self.fields(node.selection_set)

    def value(
        self,
        declared: graphql.GraphQLOutputType,
        selections: graphql.SelectionSetNode | None,
        value: Any,
        path: str,
    ) -> None:
        if isinstance(declared, graphql.GraphQLNonNull):
            if value is None:
                self.problems.append(f"{path}: null in a non-null field")
                return
            declared = declared.of_type
        if value is None:
            return
        if isinstance(declared, graphql.GraphQLList):
            if not isinstance(value, list):
                self.problems.append(f"{path}: expected a list, got {value!r}")
                return
            for index, item in enumerate(value):
                self.value(declared.of_type, selections, item, f"{path}[{index}]")
        elif isinstance(declared, graphql.GraphQLEnumType):
            if value not in declared.values:
                self.problems.append(f"{path}: {value!r} is not a {declared.name}")
        elif isinstance(declared, graphql.GraphQLScalarType):
            if not scalar_fits(declared.name, value):
                self.problems.append(f"{path}: {value!r} is not a {declared.name}")
        else:
            assert isinstance(declared, graphql.GraphQLObjectType) and selections is not None
            self.object(declared, selections, value, path)


# --- The run -------------------------------------------------------------------------------


@dataclass
class FuzzTarget:
    http: httpx.AsyncClient
    schema: GraphQLSchema
    graphql_schema: graphql.GraphQLSchema
    sessions: async_sessionmaker[AsyncSession]


@pytest.fixture(scope="module")
async def target(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FuzzTarget]:
    """The app on its own SQLite database with a small demo shop; its schema as introspected.

    In-process (ASGI, with its lifespan) rather than through uvicorn: the same
    app and middleware, a quarter less time per request, and thousands of them.
    """
    tmp_dir: Path = tmp_path_factory.mktemp("fuzz-graphql")
    engine = await fresh_database("sqlite", tmp_dir, "fuzz")
    await run_alembic(engine, "upgrade", "head")
    sessions = create_sessionmaker(engine)
    async with sessions() as session, session.begin():
        await templates.ensure_defaults(session)
    await demo_data.generate(sessions, customers=40)
    app = create_app(settings_for(engine))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://dvorik.test", timeout=60) as http,
    ):
        introspection = await http.post(
            "/graphql", json={"query": graphql.get_introspection_query()}
        )
        raw = introspection.json()
        yield FuzzTarget(
            http,
            schemathesis.graphql.from_dict(raw),
            graphql.build_client_schema(raw["data"]),
            sessions,
        )
    await engine.dispose()


def draw_cases(
    operation: APIOperation[Any, Any, Any, Any], count: int, role_seed: int
) -> list[Case[Any]]:
    """`count` cases of one operation, the same ones every run for this seed."""
    strategy = st.one_of(*[operation.as_strategy()] * 4, operation.as_strategy(NEGATIVE))
    return draw(strategy, count, role_seed)


def check_answer(
    target: FuzzTarget, role: AdminRole, case: Case[Any], response: httpx.Response
) -> tuple[list[str], list[str]]:
    """The error codes of one answer and everything wrong with it."""
    if response.status_code >= 500:
        return [], [f"HTTP {response.status_code}: {response.text[:300]}"]
    try:
        body = response.json()
    except ValueError:
        return [], [f"HTTP {response.status_code}, not JSON: {response.text[:300]}"]
    if not isinstance(body, dict) or not ({"data", "errors"} & set(body)):
        return [], [f"not a GraphQL response: {body!r:.300}"]
    problems: list[str] = []
    try:
        case.validate_response(response, checks=[response_schema_conformance])
    except FailureGroup as failure:
        problems.append(f"schemathesis: {failure}")
    codes = []
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        codes.append(str(code))
        if code not in CODES or code == ErrorCode.INTERNAL.value:
            problems.append(f"error without a proper code: {error}")
        if LEAKS.search(error.get("message", "")):
            problems.append(f"leaked internals: {error['message']!r}")
    assert isinstance(case.body, str)
    problems += ShapeCheck(target.graphql_schema, role).run(
        graphql.parse(case.body), body.get("data")
    )
    if case.meta is not None and case.meta.generation.mode is NEGATIVE:
        if set(codes) != {"INVALID_QUERY"}:
            problems.append(f"an invalid document was not refused as INVALID_QUERY: {body!r:.300}")
        return codes, problems
    required = ROLE_MATRIX[case.operation.label]
    if required is not None and RANK[role] < RANK[required]:
        if not codes or not set(codes) <= {"FORBIDDEN"} | REFUSALS_BEFORE_EXECUTION:
            problems.append(f"{role.value} was not refused: {body!r:.300}")
    elif "FORBIDDEN" in codes or "UNAUTHENTICATED" in codes:
        problems.append(f"{role.value} was refused a field the matrix allows: {body!r:.300}")
    return codes, problems


@pytest.mark.parametrize("role", list(AdminRole), ids=lambda role: role.value)
async def test_generated_operations_get_typed_answers_inside_the_schema(
    target: FuzzTarget, role: AdminRole
) -> None:
    async with target.sessions() as session, session.begin():
        admin = await make_admin(session, role=role, email=f"fuzz-{role.value}@dvorik.test")
    operations = operations_of(target.schema)
    # A little over each one's share: a few small operations (logout) run dry early.
    quota = math.ceil(1.05 * EXAMPLES / len(operations))
    sent: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    failures: list[str] = []
    started = time.monotonic()
    for operation in operations:
        for case in draw_cases(operation, quota, SEEDS[role]):
            # A fresh token each time: a generated `logout` revokes the one it is sent with.
            token = tokens.issue(admin, secret=JWT_SECRET, now=utcnow()).token
            response = await target.http.post(
                "/graphql", json={"query": case.body}, headers={"Authorization": f"Bearer {token}"}
            )
            sent[operation.label] += 1
            answer_codes, problems = check_answer(target, role, case, response)
            codes.update(answer_codes)
            failures += [
                f"{operation.label}: {problem}\n  query: {case.body!s}" for problem in problems
            ]
    elapsed = time.monotonic() - started
    print(
        f"\n{role.value}: {sent.total()} operations over {len(sent)} fields in {elapsed:.1f}s;"
        f" error codes {dict(codes.most_common())}"
    )
    if failures:
        shown = "\n".join(failures[:20])
        pytest.fail(f"{len(failures)} bad answers, the first ones:\n{shown}", pytrace=False)
    assert sent.total() >= EXAMPLES
    root_fields = {
        f"{root}.{name}"
        for root in ("Query", "Mutation")
        for name in target.graphql_schema.get_type(root).fields  # type: ignore[union-attr]
    }
    assert set(sent) == root_fields
