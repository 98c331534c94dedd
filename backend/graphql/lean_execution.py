"""Leaf fields that are plain attributes, completed without graphql-core's per-field machinery.

Why: a customers page resolves about 1,700 fields, and most are leaves that
only read an attribute (`firstName`, `status`, `createdAt`). graphql-core
builds a path, a `GraphQLResolveInfo`, an argument check and a recursive
completion for each, which was about 40% of the page's CPU (issue 19,
docs/benchmarks.md). Such a leaf here is one call to Strawberry's basic
resolver and one `coerce_output_value`.

Which fields qualify is decided once per object type: Strawberry calls a field
with no resolver, no permission class and no extension basic, and resolves it
with a plain attribute read; the field's type must also be a leaf or a list
of non-null leaves. An attribute leaf guarded only by a silent permission
whose answer needs no row (`SourceFreeGuard`: a customer's phone reads as
null below marketing) qualifies too: the guard is asked per row, as
Strawberry would ask it, and a refusal reads as null, as Strawberry's does.

Anything unusual on the way (a null where none is allowed, a value the
scalar refuses, an exception, arguments in the document, middleware) goes to
graphql-core's own `execute_field` for that field, which then reports it
exactly as before, with its path. So the fast path never decides an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from operator import attrgetter
from typing import Any, NamedTuple, Protocol, runtime_checkable
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetails
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.permission import PermissionExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


@runtime_checkable
class SourceFreeGuard(Protocol):
    """A permission whose answer needs only the request's context, not the row or an `Info`
    (`permissions.HiddenUnlessRole`: a field that reads as null below a role)."""

    def allows(self, context: Any) -> bool: ...


class PlainLeaf(NamedTuple):
    """How to complete one basic leaf field: read it, then coerce it (or each item); a
    guarded one reads as null where its guards refuse, as Strawberry's silent refusal does."""

    read: Callable[[Any], Any]
    leaf_type: GraphQLLeafType
    non_null: bool
    is_list: bool
    guards: tuple[SourceFreeGuard, ...] = ()


_SLOW = object()
_plans: WeakKeyDictionary[GraphQLObjectType, dict[str, PlainLeaf]] = WeakKeyDictionary()


def _reader(field: GraphQLField) -> Callable[[Any], Any] | None:
    """The attribute read Strawberry's basic resolver does, without its two calls around it."""
    definition = field.extensions.get("strawberry-definition")
    resolve = field.resolve
    # `_is_default` alone only says "no resolver": a field with a permission class has it
    # too. Basic means no resolver and no extension, and Strawberry then resolves it with
    # `_get_basic_result`, which takes no `Info`.
    if definition is None or not definition.is_basic_field or resolve is None:
        return None
    if getattr(resolve, "__name__", "") != "_get_basic_result":
        return None
    if definition.default_resolver is getattr:
        return attrgetter(definition.python_name)
    return lambda source: resolve(source, None)


def _guarded_reader(
    field: GraphQLField,
) -> tuple[Callable[[Any], Any], tuple[SourceFreeGuard, ...]] | None:
    """An attribute field whose one extension is a silent permission of source-free guards:
    its read, and the guards that decide, per row, whether it reads as null."""
    definition = field.extensions.get("strawberry-definition")
    if definition is None or definition.base_resolver is not None:
        return None
    if definition.permission_classes or len(definition.extensions) != 1:
        return None
    extension = definition.extensions[0]
    if not isinstance(extension, PermissionExtension) or not extension.fail_silently:
        return None
    guards = tuple(guard for guard in extension.permissions if isinstance(guard, SourceFreeGuard))
    if not guards or len(guards) != len(extension.permissions):
        return None
    if definition.default_resolver is not getattr or isinstance(field.type, GraphQLNonNull):
        return None
    return attrgetter(definition.python_name), guards


def _plain_leaf(field: GraphQLField) -> PlainLeaf | None:
    guarded = _guarded_reader(field)  # None for a basic field: it has no extension
    if guarded is not None:
        if not is_leaf_type(field.type):
            return None
        return PlainLeaf(guarded[0], field.type, False, is_list=False, guards=guarded[1])
    read = _reader(field)
    if read is None:
        return None
    field_type = field.type
    non_null = isinstance(field_type, GraphQLNonNull)
    inner = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    if is_leaf_type(inner):
        return PlainLeaf(read, inner, non_null, is_list=False)
    if isinstance(inner, GraphQLList) and isinstance(inner.of_type, GraphQLNonNull):
        item = inner.of_type.of_type
        if is_leaf_type(item):
            return PlainLeaf(read, item, non_null, is_list=True)
    return None


def plain_leaves(parent_type: GraphQLObjectType) -> dict[str, PlainLeaf]:
    """The type's basic leaf fields by name, worked out on first use."""
    plan = _plans.get(parent_type)
    if plan is None:
        plan = {}
        for name, field in parent_type.fields.items():
            leaf = _plain_leaf(field)
            if leaf is not None:
                plan[name] = leaf
        _plans[parent_type] = plan
    return plan


def _coerced(leaf_type: GraphQLLeafType, value: Any) -> Any:
    try:
        coerced = leaf_type.coerce_output_value(value)
    except Exception:  # graphql-core's own path reports it
        return _SLOW
    return _SLOW if coerced is None or coerced is Undefined else coerced


def complete_plain_leaf(leaf: PlainLeaf, source: Any) -> Any:
    """The leaf's value, or `_SLOW` when graphql-core must handle (or report) it."""
    try:
        value = leaf.read(source)
    except Exception:  # graphql-core's own path reports it
        return _SLOW
    if value is None:
        return _SLOW if leaf.non_null else None
    if not leaf.is_list:
        return _coerced(leaf.leaf_type, value)
    if isinstance(value, str | bytes | Mapping) or not hasattr(value, "__iter__"):
        return _SLOW
    items = []
    for item in value:
        coerced = _coerced(leaf.leaf_type, item)  # None included: never a leaf's value
        if coerced is _SLOW:
            return _SLOW
        items.append(coerced)
    return items


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor with basic leaf fields completed inline."""

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: dict[str, list[FieldDetails]],
        position_context: Any,
    ) -> Any:
        manager = self.middleware_manager
        if manager is not None and manager.middlewares:  # Strawberry always passes one
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        plan = plain_leaves(parent_type)
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list in grouped_field_set.items():
                node = field_details_list[0].node
                leaf = None if node.arguments else plan.get(node.name.value)
                if leaf is not None:
                    if leaf.guards and not self._allowed(leaf.guards):
                        results[response_name] = None
                        continue
                    value = complete_plain_leaf(leaf, source_value)
                    if value is not _SLOW:
                        results[response_name] = value
                        continue
                field_path = Path(path, response_name, parent_type.name)
                result = self.execute_field(
                    parent_type, source_value, field_details_list, field_path, position_context
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return self.gathered(results, awaitable_fields)

    def _allowed(self, guards: tuple[SourceFreeGuard, ...]) -> bool:
        """Asked per row, as Strawberry asks: the answer may change within a request (the
        admin is known once a root field signed them in)."""
        return all(guard.allows(self.context_value) for guard in guards)

    async def gathered(self, results: dict[str, Any], awaitable_fields: list[str]) -> Any:
        """The results with their awaitable fields awaited together, as graphql-core does."""
        if len(awaitable_fields) == 1:
            name = awaitable_fields[0]
            results[name] = await results[name]
            return results
        awaited = await gather_with_cancel(*(results[name] for name in awaitable_fields))
        results.update(zip(awaitable_fields, awaited, strict=True))
        return results
