"""Plain leaf fields answer exactly as graphql-core's own executor answers them, only cheaper.

`backend.graphql.lean_execution` completes a basic leaf (no resolver, no
permission, no extension) inline; everything else, and every error, is
graphql-core's. Each scenario runs one document through two schemas that
differ only in the executor and compares the whole answer: data, and each
error's message, path and location.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any, ClassVar, NewType

import pytest
import strawberry
from graphql import GraphQLObjectType
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema.config import StrawberryConfig

from backend.graphql.lean_execution import LeanExecutionContext, plain_leaves
from backend.graphql.permissions import HiddenUnlessRole
from backend.graphql.schema import schema

Grumpy = NewType("Grumpy", str)
GRUMPY = strawberry.scalar(
    name="Grumpy",
    serialize=lambda value: value if value != "boom" else 1 / 0,
    parse_value=str,
)


@strawberry.enum
class Mood(enum.Enum):
    SWEET = "sweet"
    SOUR = "sour"


class Never(BasePermission):
    message = "not for you"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False


@strawberry.type
class Sweet:
    id: int
    name: str
    nickname: str | None
    mood: Mood
    price: Decimal | None
    made_at: dt.datetime
    best_before: dt.date | None
    tags: list[str]
    sizes: list[int] | None
    label: Grumpy | None
    secret: str | None = strawberry.field(default="hidden", permission_classes=[Never])

    @strawberry.field
    def shout(self, suffix: str = "!") -> str:
        return self.name.upper() + suffix


def _sweet(number: int, **changes: Any) -> Sweet:
    values: dict[str, Any] = {
        "id": number,
        "name": f"Мармелад {number}",
        "nickname": None if number % 2 else f"м{number}",
        "mood": Mood.SWEET if number % 3 else Mood.SOUR,
        "price": Decimal("12.50") if number % 2 else None,
        "made_at": dt.datetime(2026, 12, 7, 9, number % 60, tzinfo=dt.UTC),
        "best_before": dt.date(2027, 1, 1 + number % 28) if number % 4 else None,
        "tags": ["vip", "шоколад"][: number % 3],
        "sizes": [number, number + 1] if number % 5 else None,
        "label": None,
    }
    return Sweet(**{**values, **changes})


BROKEN = {
    "null name": _sweet(1, name=None),
    "null in tags": _sweet(2, tags=["ok", None]),
    "tags not a list": _sweet(3, tags="vip"),
    "scalar refuses": _sweet(4, label="boom"),
    "wrong enum": _sweet(5, mood="bitter"),
    "int out of range": _sweet(6, id=2**40),
}


@strawberry.type
class Query:
    @strawberry.field
    def sweets(self, first: int = 30) -> list[Sweet]:
        return [_sweet(number) for number in range(1, first + 1)]

    @strawberry.field
    def broken(self, kind: str) -> Sweet | None:
        return BROKEN[kind]

    @strawberry.field
    def broken_list(self, kind: str) -> list[Sweet | None]:
        return [_sweet(7), BROKEN[kind], _sweet(8)]


def _config() -> StrawberryConfig:
    return StrawberryConfig(auto_camel_case=True, scalar_map={Grumpy: GRUMPY})


def _schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    config = _config()
    return (
        strawberry.Schema(query=Query, config=config),
        strawberry.Schema(query=Query, config=config, execution_context_class=LeanExecutionContext),
    )


def _answer(result: Any) -> dict[str, Any]:
    return {
        "data": result.data,
        "errors": [
            (error.message, error.path, [(loc.line, loc.column) for loc in error.locations or []])
            for error in result.errors or []
        ],
    }


async def _both(document: str, **variables: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    plain, lean = _schemas()
    expected = _answer(await plain.execute(document, variable_values=variables))
    got = _answer(await lean.execute(document, variable_values=variables))
    return expected, got


FIELDS = "id name nickname mood price madeAt bestBefore tags sizes label"


async def test_a_page_of_plain_fields_answers_as_graphql_core_does() -> None:
    expected, got = await _both(
        "query Page($first: Int!, $withTags: Boolean!) { sweets(first: $first) {"
        f" {FIELDS} tags @include(if: $withTags) ...More alias: name __typename"
        ' shout(suffix: "?") secret } }'
        " fragment More on Sweet { nickname mood sizes @skip(if: true) }",
        first=30,
        withTags=True,
    )
    assert got == expected
    first = got["data"]["sweets"][0]
    assert first["alias"] == "Мармелад 1" and first["shout"] == "МАРМЕЛАД 1?"
    assert first["__typename"] == "Sweet" and "sizes" in first
    assert got["data"]["sweets"][1]["madeAt"] == "2026-12-07T09:02:00+00:00"
    assert got["errors"][0][0] == "not for you"  # a permission stays graphql-core's


@pytest.mark.parametrize("kind", sorted(BROKEN))
async def test_a_broken_value_is_reported_as_graphql_core_reports_it(kind: str) -> None:
    for field in ("broken", "brokenList"):
        expected, got = await _both(
            f"query Broken($kind: String!) {{ {field}(kind: $kind) {{ {FIELDS} }} }}", kind=kind
        )
        assert got == expected, (field, kind)
        assert got["errors"], f"{kind} should be an error on {field}"


class CountingExecutor(LeanExecutionContext):
    """Counts the fields that reached graphql-core's own `execute_field`."""

    slow_fields: ClassVar[list[str]] = []

    def execute_field(self, parent_type: Any, source: Any, details: Any, *rest: Any) -> Any:
        CountingExecutor.slow_fields.append(f"{parent_type.name}.{details[0].node.name.value}")
        return super().execute_field(parent_type, source, details, *rest)


async def test_only_fields_with_resolvers_reach_graphql_cores_field_machinery() -> None:
    schema = strawberry.Schema(
        query=Query,
        config=_config(),
        execution_context_class=CountingExecutor,
    )
    CountingExecutor.slow_fields = []
    result = await schema.execute(f"{{ sweets(first: 50) {{ {FIELDS} shout }} }}")
    assert result.errors is None and len(result.data["sweets"]) == 50  # type: ignore[index]
    assert sorted(set(CountingExecutor.slow_fields)) == ["Query.sweets", "Sweet.shout"]
    assert len(CountingExecutor.slow_fields) == 51  # not 50 x 11


def test_no_field_of_the_api_with_a_permission_or_a_resolver_takes_the_plain_path() -> None:
    """A permission class with no resolver is still Strawberry's `_is_default`: not basic here.
    The one kind of guard that may ride along is a silent row-free one, and it is kept."""
    plain, guarded = 0, set()
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        for name, leaf in plain_leaves(graphql_type).items():
            coordinate = f"{graphql_type.name}.{name}"
            definition = graphql_type.fields[name].extensions["strawberry-definition"]
            assert definition.base_resolver is None, coordinate
            assert not definition.permission_classes, coordinate
            if leaf.guards:
                [extension] = definition.extensions
                assert isinstance(extension, PermissionExtension), coordinate
                assert [id(g) for g in leaf.guards] == [id(p) for p in extension.permissions]
                assert all(isinstance(g, HiddenUnlessRole) for g in leaf.guards), coordinate
                guarded.add(coordinate)
            else:
                assert not definition.extensions, coordinate
            plain += 1
    assert plain > 150  # the API's plain fields do take it
    assert guarded == {"Customer.phone", "Customer.username"}


class StaffOnly(BasePermission):
    """Row-free, like `HiddenUnlessRole`: the context alone says."""

    message = "staff only"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return self.allows(info.context)

    def allows(self, context: Any) -> bool:
        return bool(context["staff"])


@strawberry.type
class Jar:
    id: int
    label: str | None = strawberry.field(
        extensions=[PermissionExtension([StaffOnly()], fail_silently=True)]
    )
    price: int | None = strawberry.field(
        extensions=[PermissionExtension([StaffOnly()], fail_silently=False)]
    )


@strawberry.type
class JarQuery:
    @strawberry.field
    def jars(self) -> list[Jar]:
        return [Jar(id=n, label=None if n == 2 else f"банка {n}", price=n * 10) for n in (1, 2, 3)]


@pytest.mark.parametrize("staff", [True, False])
async def test_a_silently_guarded_field_answers_as_strawberry_does_for_each_reader(
    staff: bool,
) -> None:
    plain = strawberry.Schema(query=JarQuery)
    lean = strawberry.Schema(query=JarQuery, execution_context_class=CountingExecutor)
    CountingExecutor.slow_fields = []
    document = "{ jars { id label price } }"
    expected = _answer(await plain.execute(document, context_value={"staff": staff}))
    got = _answer(await lean.execute(document, context_value={"staff": staff}))
    assert got == expected
    labels = [jar["label"] for jar in got["data"]["jars"]]
    assert labels == (["банка 1", None, "банка 3"] if staff else [None, None, None])
    # The silent guard is asked per row without graphql-core; a loud one stays graphql-core's.
    assert sorted(set(CountingExecutor.slow_fields)) == ["Jar.price", "JarQuery.jars"]
