"""Limits on a document's shape, worked out in one pass: linear in the document.

Strawberry's `QueryDepthLimiter` and `MaxAliasesLimiter` walk a fragment again
at every spread, so a document whose fragments each spread the previous one
twice costs 2ⁿ to validate: 825 anonymous bytes held the event loop (and with
it `/health`, the webhooks and every admin) for 6 s, and n=40 for minutes.
Here each fragment's shape (depth, aliases, fields) is worked out once, after
the fragments it spreads, and added wherever it is spread. The figures are
those of the expanded document, which is what execution would walk, so a
fan-out is refused by its expanded size at the cost of reading it once.

Depth counts as Strawberry's limiter did, which the SPA's documents and the
tests rely on: a field with a selection set is one level, leaves and
introspection fields (`__schema`, `__type`: GraphiQL's own query is deep) none.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)

MAX_DEPTH = 8
MAX_ALIASES = 30
MAX_FIELDS = 2000  # after fragments are expanded
MAX_SPREADS = 100  # `...Name` in the document as written

# Parts of the messages below; errors.py answers them with QUERY_TOO_COMPLEX.
DEPTH_MARKER = "exceeds maximum operation depth"
ALIASES_MARKER = "aliases found"
FIELDS_MARKER = "fields after fragments are expanded"
SPREADS_MARKER = "fragment spreads found"
MARKERS = (DEPTH_MARKER, ALIASES_MARKER, FIELDS_MARKER, SPREADS_MARKER)


@dataclass(frozen=True)
class Shape:
    """What a selection set adds up to once every fragment in it is expanded."""

    depth: int = 0
    aliases: int = 0
    fields: int = 0

    def __add__(self, other: Shape) -> Shape:
        return Shape(
            max(self.depth, other.depth), self.aliases + other.aliases, self.fields + other.fields
        )


@dataclass
class DocumentShape:
    """Each operation's shape, the spreads as written, and the nodes read to find them."""

    operations: dict[str, Shape] = field(default_factory=dict)
    spreads: int = 0
    visited: int = 0


def measure(document: DocumentNode) -> DocumentShape:
    """Every operation's expanded shape; each node of the document is read at most twice."""
    result = DocumentShape()
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    spread_names = {name: list(_spreads(f.selection_set, result)) for name, f in fragments.items()}
    shapes: dict[str, Shape] = {}
    for name in dependencies_first(spread_names):
        shapes[name] = _shape(fragments[name].selection_set, shapes, result)
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            result.spreads += sum(1 for _ in _spreads(definition.selection_set, result))
            name = definition.name.value if definition.name else "anonymous"
            result.operations[name] = _shape(definition.selection_set, shapes, result)
    result.spreads += sum(len(names) for names in spread_names.values())
    return result


def _spreads(selection_set: SelectionSetNode, counter: DocumentShape) -> Iterator[str]:
    """Names spread anywhere inside `selection_set` (not following them)."""
    pending = [selection_set]
    while pending:
        for selection in pending.pop().selections:
            counter.visited += 1
            if isinstance(selection, FragmentSpreadNode):
                yield selection.name.value
            elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
                pending.append(selection.selection_set)


def dependencies_first(spread_names: dict[str, list[str]]) -> list[str]:
    """Fragments ordered so each comes after those it spreads; a cycle is cut where met.

    Iterative, so a long chain of fragments cannot exhaust Python's stack
    (graphql-core reports the cycle itself).
    """
    order: list[str] = []
    seen: set[str] = set()
    for root in spread_names:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(spread_names[root]))]
        while stack:
            name, dependencies = stack[-1]
            for dependency in dependencies:
                if dependency in spread_names and dependency not in seen:
                    seen.add(dependency)
                    stack.append((dependency, iter(spread_names[dependency])))
                    break
            else:
                stack.pop()
                order.append(name)
    return order


def _shape(
    selection_set: SelectionSetNode, fragments: dict[str, Shape], counter: DocumentShape
) -> Shape:
    """A selection set's shape; a spread adds its fragment's shape, already worked out."""
    total = Shape()
    for selection in selection_set.selections:
        counter.visited += 1
        if isinstance(selection, FieldNode):
            total += Shape(aliases=1 if selection.alias else 0, fields=1)
            if selection.selection_set:
                inner = _shape(selection.selection_set, fragments, counter)
                levels = 0 if selection.name.value.startswith("__") else 1 + inner.depth
                total += Shape(levels, inner.aliases, inner.fields)
        elif isinstance(selection, InlineFragmentNode):
            total += _shape(selection.selection_set, fragments, counter)
        elif isinstance(selection, FragmentSpreadNode):
            # Unknown or cyclic: graphql-core's own rules report it.
            total += fragments.get(selection.name.value, Shape())
    return total


def refusals(document: DocumentNode) -> list[str]:
    """Why the document is over the limits: one message per limit broken, none if within."""
    shape = measure(document)
    messages = [
        f"'{name}' {DEPTH_MARKER} of {MAX_DEPTH}"
        for name, operation in shape.operations.items()
        if operation.depth > MAX_DEPTH
    ]
    aliases = sum(operation.aliases for operation in shape.operations.values())
    if aliases > MAX_ALIASES:
        messages.append(f"{aliases} {ALIASES_MARKER}. Allowed: {MAX_ALIASES}")
    fields = sum(operation.fields for operation in shape.operations.values())
    if fields > MAX_FIELDS:
        messages.append(f"{fields} {FIELDS_MARKER}. Allowed: {MAX_FIELDS}")
    if shape.spreads > MAX_SPREADS:
        messages.append(f"{shape.spreads} {SPREADS_MARKER}. Allowed: {MAX_SPREADS}")
    return messages


class DocumentLimits(ValidationRule):
    """Refuses a document over the depth, alias, expanded-field or spread limits.

    Reported as the visit starts (not when the rule is made), so a rule that
    follows it (the cost limit, `query_cost_limit`) sees these too.
    """

    def enter_document(self, node: DocumentNode, *_args: object) -> None:
        for message in refusals(node):
            self.report_error(GraphQLError(message))
