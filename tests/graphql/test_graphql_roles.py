"""The role matrix holds for every root field the schema has, checked from the schema itself.

Static: every root field is in ROLE_MATRIX with exactly the permission it
declares, and every matrix entry exists, in the built schema and in the
exported `schema.graphql` the SPA is written against (there, hidden fields
carry their role as a directive). Behavioural: each root field, subscriptions
included, is called by every role (and anonymously) with generated arguments;
a role below the matrix gets FORBIDDEN (anonymous: UNAUTHENTICATED, or on a
WebSocket a 4403 close instead of an acknowledgement), a role at or above it
never does; each guarded object field comes back null below its role and
filled at it. A new mutation without a permission fails here.

Arguments as well: every argument of the schema is in ARGUMENT_MATRIX with the
fields it reads, and each role finds customers only by what it sees. An explicit
filter or sort key on a field hidden from a role is FORBIDDEN to it; free-text
search is narrowed to the fields the role sees (readonly's customer search
matches names and Telegram ids, not phones or usernames).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    build_schema,
    get_named_type,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError
from websockets.typing import Subprotocol

from backend.domain.clock import utcnow
from backend.domain.models import AdminRole
from backend.domain.segments import SegmentRules
from backend.graphql import tokens
from backend.graphql.permissions import (
    ARGUMENT_MATRIX,
    RANK,
    ROLE_MATRIX,
    SEGMENT_RULE_READS,
    Reads,
    RolePermission,
    role_allows,
    sees_field,
)
from backend.graphql.schema import schema
from tests.api import JWT_SECRET, GraphQLClient, RunningServer, graphql_core
from tests.factories import make_admin, make_customer

SHAPE = graphql_core(schema)  # the schema's types, fields and arguments

ROOTS = ("Query", "Mutation", "Subscription")
SCALAR_SAMPLES: dict[str, Any] = {
    "Int": 1,
    "Float": 1.0,
    "String": "x",
    "Boolean": True,
    "ID": "1",
    "Date": "2026-01-01",
    "DateTime": "2030-01-01T00:00:00+00:00",
    "Decimal": "1.00",
    "JSON": {},
}


def declared_roles() -> dict[str, AdminRole | None]:
    """Coordinate -> least role, read off the permission classes in the built schema."""
    found: dict[str, AdminRole | None] = {}
    for root in ROOTS:
        definition = schema.get_type_by_name(root)
        if definition is None:
            continue
        for field in definition.fields:  # type: ignore[union-attr]
            name = schema.config.name_converter.get_graphql_name(field)
            permissions = [
                permission
                for permission in field.permission_classes
                if isinstance(permission, type) and issubclass(permission, RolePermission)
            ]
            assert len(permissions) == 1, f"{root}.{name} declares no role permission"
            found[f"{root}.{name}"] = permissions[0].required
    return found


def test_every_root_field_is_in_the_matrix_and_nothing_else_is() -> None:
    declared = declared_roles()
    root_entries = {key: value for key, value in ROLE_MATRIX.items() if key.split(".")[0] in ROOTS}
    assert declared == root_entries


EXPORTED = build_schema(
    (Path(__file__).resolve().parents[2] / "schema.graphql").read_text(encoding="utf-8")
)


def test_the_exported_schema_and_the_matrix_agree_both_ways() -> None:
    exported_roots = {
        f"{root}.{name}"
        for root in ROOTS
        if isinstance(root_type := EXPORTED.get_type(root), GraphQLObjectType)
        for name in root_type.fields
    }
    assert exported_roots == {key for key in ROLE_MATRIX if key.split(".")[0] in ROOTS}
    # Outside the roots, a guarded field carries `@requires<Role>OrHidden` in the SDL.
    guarded = {}
    for type_name, graphql_type in EXPORTED.type_map.items():
        if not isinstance(graphql_type, GraphQLObjectType) or type_name in ROOTS:
            continue
        for name, field in graphql_type.fields.items():
            node = field.ast_node
            for directive in (node.directives or ()) if node else ():
                if directive.name.value.startswith("requires"):
                    guarded[f"{type_name}.{name}"] = directive.name.value
    expected = {
        key: f"requires{role.value.title()}OrHidden"
        for key, role in ROLE_MATRIX.items()
        if key.split(".")[0] not in ROOTS and role is not None
    }
    assert guarded == expected


def test_object_fields_in_the_matrix_exist() -> None:
    for coordinate in ROLE_MATRIX:
        type_name, field_name = coordinate.split(".")
        graphql_type = SHAPE.get_type(type_name)
        assert isinstance(graphql_type, GraphQLObjectType), coordinate
        assert field_name in graphql_type.fields, coordinate


def sample(input_type: GraphQLInputType) -> Any:
    if isinstance(input_type, GraphQLNonNull):
        return sample(input_type.of_type)
    if isinstance(input_type, GraphQLList):
        return [sample(input_type.of_type)]
    if isinstance(input_type, GraphQLEnumType):
        return next(iter(input_type.values))
    if isinstance(input_type, GraphQLInputObjectType):
        return {
            name: sample(field.type)
            for name, field in input_type.fields.items()
            if isinstance(field.type, GraphQLNonNull)
        }
    assert isinstance(input_type, GraphQLScalarType)
    return SCALAR_SAMPLES[input_type.name]


def operation(root: str, name: str, field: GraphQLField) -> tuple[str, dict[str, Any]]:
    required = {
        arg: arg_def
        for arg, arg_def in field.args.items()
        if isinstance(arg_def.type, GraphQLNonNull)
    }
    declarations = ", ".join(f"${arg}: {arg_def.type}" for arg, arg_def in required.items())
    arguments = ", ".join(f"{arg}: ${arg}" for arg in required)
    selection = (
        ""
        if isinstance(get_named_type(field.type), GraphQLScalarType | GraphQLEnumType)
        else " { __typename }"
    )
    keyword = root.lower()
    head = f"{keyword} Probe({declarations})" if declarations else f"{keyword} Probe"
    call = f"{name}({arguments})" if arguments else name
    variables = {arg: sample(arg_def.type) for arg, arg_def in required.items()}
    return f"{head} {{ {call}{selection} }}", variables


def root_fields() -> list[tuple[str, str, GraphQLField]]:
    found = []
    for root in ("Query", "Mutation"):
        graphql_root = SHAPE.get_type(root)
        assert isinstance(graphql_root, GraphQLObjectType)
        found += [(root, name, field) for name, field in graphql_root.fields.items()]
    return found


ROOT_FIELDS = root_fields()


@pytest.mark.parametrize(("root", "name", "field"), ROOT_FIELDS, ids=lambda v: str(v)[:40])
async def test_each_role_gets_exactly_what_the_matrix_says(
    graphql: GraphQLClient,
    sessions: async_sessionmaker[AsyncSession],
    root: str,
    name: str,
    field: GraphQLField,
) -> None:
    async with sessions() as session, session.begin():
        people = {role: await make_admin(session, role=role) for role in AdminRole}
    required = ROLE_MATRIX[f"{root}.{name}"]
    query, variables = operation(root, name, field)

    for role, admin in people.items():
        token = tokens.issue(admin, secret=JWT_SECRET, now=utcnow()).token
        response = await graphql.as_(token)(query, **variables)
        codes = response.error_codes
        assert "INTERNAL" not in codes, (role, response.body)
        if required is not None and RANK[role] < RANK[required]:
            assert codes == ["FORBIDDEN"], (role, response.body)
        else:
            assert "FORBIDDEN" not in codes and "UNAUTHENTICATED" not in codes, (
                role,
                response.body,
            )
    anonymous = await graphql(query, **variables)
    if required is not None:
        assert anonymous.error_codes == ["UNAUTHENTICATED"], anonymous.body
    assert "INTERNAL" not in anonymous.error_codes


PROTOCOL = Subprotocol("graphql-transport-ws")


def subscription_fields() -> list[tuple[str, GraphQLField]]:
    root = SHAPE.get_type("Subscription")
    assert isinstance(root, GraphQLObjectType)
    return list(root.fields.items())


async def first_answer(server: RunningServer, token: str | None, query: str, variables: Any) -> Any:
    """Subscribe over a real WebSocket; the first `next` or `error` message."""
    url = "ws" + server.url.removeprefix("http") + "/graphql"
    payload = {"Authorization": f"Bearer {token}"} if token else {}
    async with connect(url, subprotocols=[PROTOCOL], open_timeout=5) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        subscribe = {"query": query, "variables": variables}
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
        while True:
            message = json.loads(await socket.recv())
            if message["type"] in ("next", "error"):
                return message


def codes_of(message: Any) -> list[str]:
    errors = message["payload"] if message["type"] == "error" else message["payload"].get("errors")
    return [error.get("extensions", {}).get("code") for error in errors or []]


@pytest.mark.parametrize(("name", "field"), subscription_fields(), ids=lambda v: str(v)[:40])
async def test_each_role_may_subscribe_exactly_as_the_matrix_says(
    server: RunningServer,
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    field: GraphQLField,
) -> None:
    async with sessions() as session, session.begin():
        people = {role: await make_admin(session, role=role) for role in AdminRole}
    required = ROLE_MATRIX[f"Subscription.{name}"]
    query, variables = operation("Subscription", name, field)

    for role, admin in people.items():
        token = tokens.issue(admin, secret=JWT_SECRET, now=utcnow()).token
        codes = codes_of(await first_answer(server, token, query, variables))
        assert "INTERNAL" not in codes, (role, codes)
        if required is not None and RANK[role] < RANK[required]:
            assert codes == ["FORBIDDEN"], (role, codes)
        else:
            assert "FORBIDDEN" not in codes and "UNAUTHENTICATED" not in codes, (role, codes)
    if required is not None:  # an anonymous socket is not even acknowledged
        with pytest.raises(ConnectionClosedError) as refused:
            await first_answer(server, None, query, variables)
        assert refused.value.rcvd is not None and refused.value.rcvd.code == 4403


# How to reach one object of each type that has guarded fields, and make it with every
# field filled: a new guarded type must be added here, or the test below fails.
REACH = {
    "Customer": "query($id: Int!) {{ customer(id: $id) {{ {fields} }} }}",
}


def guarded_fields() -> list[tuple[str, str]]:
    return [
        (type_name, field_name)
        for type_name, field_name in (key.split(".") for key in ROLE_MATRIX)
        if type_name not in ROOTS
    ]


@pytest.mark.parametrize(("type_name", "field_name"), guarded_fields())
async def test_each_role_sees_a_guarded_field_exactly_as_the_matrix_says(
    graphql: GraphQLClient,
    sessions: async_sessionmaker[AsyncSession],
    type_name: str,
    field_name: str,
) -> None:
    assert type_name in REACH, f"add a way to reach a {type_name} to REACH"
    async with sessions() as session, session.begin():
        people = {role: await make_admin(session, role=role) for role in AdminRole}
        customer = await make_customer(session, phone="+79140000001", username="anya")
    required = ROLE_MATRIX[f"{type_name}.{field_name}"]
    query = REACH[type_name].format(fields=f"id {field_name}")

    for role, admin in people.items():
        token = tokens.issue(admin, secret=JWT_SECRET, now=utcnow()).token
        response = await graphql.as_(token)(query, id=customer.id)
        value = response.data[next(iter(response.data))][field_name]
        if required is not None and RANK[role] < RANK[required]:
            assert value is None, (role, value)
        else:
            assert value is not None, (role, response.body)


# --- Arguments: a field hidden from a role cannot be filtered, sorted, searched or counted by


PAGING = ("first", "after")
# JSON arguments that are objects with known keys (each key is an argument path of its own).
JSON_OBJECTS = {"Query.previewSegment(rules)": tuple(SegmentRules.model_fields)}


def argument_paths(path: str, input_type: GraphQLInputType) -> set[str]:
    """The leaves of an argument: input fields, each value of a sort key, JSON keys."""
    named = get_named_type(input_type)
    if isinstance(named, GraphQLInputObjectType):
        return set().union(
            *(argument_paths(f"{path}.{name}", field.type) for name, field in named.fields.items())
        )
    if isinstance(named, GraphQLEnumType) and any(
        key.startswith(f"{path}=") for key in ARGUMENT_MATRIX
    ):
        return {f"{path}={value}" for value in named.values}
    if isinstance(named, GraphQLScalarType) and named.name == "JSON":
        assert path in JSON_OBJECTS, f"say which keys {path} takes in JSON_OBJECTS"
        return {f"{path}.{key}" for key in JSON_OBJECTS[path]}
    return {path}


def schema_arguments() -> set[str]:
    found: set[str] = set()
    for type_name, graphql_type in SHAPE.type_map.items():
        if type_name.startswith("__") or type_name == "Mutation":
            continue
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        for field_name, field in graphql_type.fields.items():
            for argument, definition in field.args.items():
                if argument not in PAGING:
                    path = f"{type_name}.{field_name}({argument})"
                    found |= argument_paths(path, definition.type)
    return found


GUARDED = {
    coordinate: role
    for coordinate, role in ROLE_MATRIX.items()
    if coordinate.split(".")[0] not in ROOTS and role is not None
}


def test_every_argument_is_in_the_argument_matrix_and_nothing_else_is() -> None:
    assert schema_arguments() == set(ARGUMENT_MATRIX)


def test_arguments_read_fields_the_schema_has() -> None:
    for path, rule in ARGUMENT_MATRIX.items():
        for coordinate in rule.fields:
            type_name, field_name = coordinate.split(".")
            graphql_type = SHAPE.get_type(type_name)
            assert isinstance(graphql_type, GraphQLObjectType), (path, coordinate)
            assert field_name in graphql_type.fields, (path, coordinate)


def test_stored_segment_rules_read_nothing_their_readers_cannot_see() -> None:
    """`Segment.count` counts stored rules for any reader, with no argument to refuse."""
    assert set(SEGMENT_RULE_READS) == set(SegmentRules.model_fields)
    least_reader = ROLE_MATRIX["Query.segments"]
    assert least_reader is not None
    for key, rule in SEGMENT_RULE_READS.items():
        assert all(sees_field(least_reader, field) for field in rule.fields), key


def test_arguments_no_permission_checks_read_no_guarded_field() -> None:
    """Object fields' arguments and public roots' are never refused: nothing to hide there."""
    for path, rule in ARGUMENT_MATRIX.items():
        owner = path.split("(")[0]
        if owner in ROLE_MATRIX and ROLE_MATRIX[owner] is not None:
            continue
        assert not set(rule.fields) & set(GUARDED), path


def test_mutations_with_arguments_need_a_role_that_sees_every_guarded_field() -> None:
    """Why mutations' arguments are left out of the argument matrix (sign-in, which is
    public, takes credentials, and `logout` takes nothing)."""
    mutations = SHAPE.get_type("Mutation")
    assert isinstance(mutations, GraphQLObjectType)
    for name, field in mutations.fields.items():
        required = ROLE_MATRIX[f"Mutation.{name}"]
        if required is not None and field.args:
            assert all(role_allows(required, role) for role in GUARDED.values()), name


def guarded_arguments() -> list[str]:
    return [
        path
        for path, rule in ARGUMENT_MATRIX.items()
        if any(field in GUARDED for field in rule.fields)
    ]


# How to look customers up through each argument that reads a guarded field, with what
# a customer has in each field it reads: a new such argument must be added here.
FIND_BY = {
    "Query.customers(filter).search": (
        "query($value: String) { customers(filter: {search: $value}) "
        "{ totalCount edges { node { id } } } }"
    ),
}
CUSTOMER_VALUES = {
    "Customer.firstName": "Зоя",
    "Customer.lastName": "Зябликова",
    "Customer.username": "hidden_zoya",
    "Customer.phone": "+79145550199",
}


@pytest.mark.parametrize("path", guarded_arguments())
async def test_each_role_finds_by_an_argument_only_what_it_may_see(
    graphql: GraphQLClient, sessions: async_sessionmaker[AsyncSession], path: str
) -> None:
    """Explicit filters on a hidden field are FORBIDDEN; free text ignores the field."""
    assert path in FIND_BY, f"add a way to look customers up by {path} to FIND_BY"
    rule = ARGUMENT_MATRIX[path]
    async with sessions() as session, session.begin():
        people = {role: await make_admin(session, role=role) for role in AdminRole}
        customer = await make_customer(
            session,
            first_name=CUSTOMER_VALUES["Customer.firstName"],
            last_name=CUSTOMER_VALUES["Customer.lastName"],
            username=CUSTOMER_VALUES["Customer.username"],
            phone=CUSTOMER_VALUES["Customer.phone"],
        )
        await make_customer(session)  # someone not to find
    values = CUSTOMER_VALUES | {"Customer.telegramId": str(customer.telegram_id)}

    for role, admin in people.items():
        client = graphql.as_(tokens.issue(admin, secret=JWT_SECRET, now=utcnow()).token)
        for field in rule.fields:
            response = await client(FIND_BY[path], value=values[field])
            if sees_field(role, field):
                found = response.data["customers"]
                assert found["totalCount"] == 1, (role, field, found)
                assert [edge["node"]["id"] for edge in found["edges"]] == [customer.id]
            elif rule.free_text:
                found = response.data["customers"]
                assert found == {"totalCount": 0, "edges": []}, (role, field, found)
            else:
                assert response.error_codes == ["FORBIDDEN"], (role, field, response.body)


async def test_a_filter_or_sort_key_declared_on_a_hidden_field_is_forbidden_below_its_role(
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The refusal path, on each kind of argument: today no explicit filter reads a hidden
    field, so three are declared as if they read the phone."""
    for path in (
        "Query.customers(filter).source",
        "Query.customers(orderBy).field=LAST_SEEN_AT",
        "Query.previewSegment(rules).source",
    ):
        monkeypatch.setitem(ARGUMENT_MATRIX, path, Reads(("Customer.phone",)))
    async with sessions() as session, session.begin():
        await make_customer(session, source="vk")
    by_source = '{ customers(filter: {source: ["vk"]}) { totalCount } }'
    by_last_seen = "{ customers(orderBy: {field: LAST_SEEN_AT}) { totalCount } }"
    by_creation = "{ customers(orderBy: {field: CREATED_AT}) { totalCount } }"
    preview = '{ previewSegment(rules: {source: ["vk"]}) { count } }'
    preview_all = "{ previewSegment(rules: {}) { count } }"

    readonly = staff[AdminRole.READONLY]
    for query in (by_source, by_last_seen, preview):
        refused = await readonly(query)
        assert refused.error_codes == ["FORBIDDEN"], (query, refused.body)
        assert refused.body["data"] is None
    assert refused.body["errors"][0]["extensions"]["argument"] == (
        "Query.previewSegment(rules).source"
    )
    assert (await readonly(by_creation)).data["customers"]["totalCount"] == 1
    assert (await readonly(preview_all)).data["previewSegment"]["count"] == 1
    for role in (AdminRole.MARKETING, AdminRole.OWNER):
        assert (await staff[role](by_source)).data["customers"]["totalCount"] == 1
        assert (await staff[role](by_last_seen)).data["customers"]["totalCount"] == 1
        assert (await staff[role](preview)).data["previewSegment"]["count"] == 1
