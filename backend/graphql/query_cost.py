"""What a request may cost, worked out before anything runs, in one pass over the document.

Thirty aliases of `kpi` over 731 days, sent by a readonly admin eight at a
time, took 21 s each and slowed every other admin's page to a median of 1 s:
the document limits (`document_limits.py`) count fields, and each of those
fields is a dozen statements. So every request also has a cost, computed from
the document and its variables before validation ends, and one over
`GRAPHQL_MAX_QUERY_COST` is refused whole with QUERY_TOO_COSTLY: no resolver
runs and no statement is sent.

The model (the figures are in `frontend-contract/README.md`, Limits):

* every field selected costs 1, and so does every value of a list of values;
* a list costs its selection once per item: a page as many times as its
  `first` (its default when absent, at most the page cap), `edges` of a
  connection and `sample` of a segment preview as many times as the page
  around them, a KPI series' `points` once per bucket of the report, and a
  list without a page its expected length (`FIELDS` below); lists inside
  lists multiply;
* a few fields cost what they run: `totalCount` and a segment's `count` are a
  COUNT over a table; `kpi` and `discountStats` a fixed part plus a part per
  day of their period (start..end, both included).

Weights are measured, not guessed: on the 2-core reference machine (MariaDB,
20,000 demo customers) one unit is 4-6 µs of the API's time (the two-year
dashboard, 34,262 units: 126 ms; a 200-row customer page, 5,305: 30 ms), a
COUNT 2-10 ms, `kpi` 17 ms plus 20-25 µs a day. The default limit, 50,000,
is then about 0.2 s of one core: the dashboard over two years by day (the
largest document the SPA sends) fits, two of them do not, and thirty
two-year reports (229,680) are four times over.
GitHub's API is the anchor: pages of at most 100, at most 500,000 nodes per
call. Our pages stop at 200 (`pagination.MAX_PAGE_SIZE`) and our budget is
counted in fields, not nodes, so it is ten times smaller: a 2-core shop server
is not GitHub.

Linear, like the document limits: each fragment is costed once, after the
fragments it spreads, and its cost is added wherever it is spread. A
fragment's cost may depend on where it is spread (a fragment on `Series` has
as many points as the report around it has buckets), so a cost is a small
polynomial in the enclosing page size and bucket count; the field that
fixes one (a connection, `kpi`) substitutes it. Arguments are read from the
document and the request's variables, which a graphql-core rule cannot see:
`query_cost_limit.LimitQueryCost` applies them to each request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLArgument,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
    value_from_ast_untyped,
)

from backend.domain import kpi as report
from backend.domain import shop_settings
from backend.domain.models import DiscountKind, DiscountStatus
from backend.domain.pagination import MAX_PAGE_SIZE
from backend.graphql import document_limits
from backend.settings import Settings

DEFAULT_LIMIT: int = Settings.model_fields["graphql_max_query_cost"].default

# Part of the message below; errors.py answers it with QUERY_TOO_COSTLY.
COST_MARKER = "over the cost limit"

# A COUNT over a filtered table: 2 ms at 20,000 customers, 8-10 ms with a search or
# a segment's rules (segments are few: 20 of them with counts are 10,121).
COUNT = 500


class Symbol(Enum):
    """A size known only where a fragment is spread: fixed by the field around it."""

    PAGE = 0  # the page size of the connection (or segment preview) around
    BUCKETS = 1  # the buckets of the KPI report around

    @property
    def most(self) -> int:
        """Its largest value: what it counts as when nothing around fixes it."""
        return MAX_PAGE_SIZE if self is Symbol.PAGE else report.MAX_WINDOW_DAYS


@dataclass(frozen=True)
class Fixed:
    """A list without a page: its expected length."""

    items: int


@dataclass(frozen=True)
class FirstArgument:
    """A list as long as its own `first` argument (its default if absent, capped)."""


@dataclass(frozen=True)
class Period:
    """A report over start..end (both included): `base` plus `per_day` for each day."""

    base: int
    per_day: int


Size = Fixed | FirstArgument | Symbol


@dataclass(frozen=True)
class Weight:
    """What one field costs: itself, the length of its list, what it fixes for its selection.

    `page`: the field's `first` is the page size (`Symbol.PAGE`) of the lists
    inside it. `period`: the field's cost is its period's, and its selection
    has the period's buckets (`Symbol.BUCKETS`).
    """

    own: int = 1
    items: Size | None = None
    page: bool = False
    period: Period | None = None


_PAGE = Weight(page=True)
_EDGES = Weight(items=Symbol.PAGE)
_TOTAL = Weight(own=COUNT)

# Every list and every field weighing more than 1, by "Type.field"; a test
# checks that each list of the schema is here, so a new one cannot be forgotten.
FIELDS: Mapping[str, Weight] = {
    # Pages: `first` (default 50, at most 200) rows in `edges`, one COUNT for `totalCount`.
    "Query.customers": _PAGE,
    "CustomerConnection.edges": _EDGES,
    "CustomerConnection.totalCount": _TOTAL,
    "Query.discounts": _PAGE,
    "DiscountConnection.edges": _EDGES,
    "DiscountConnection.totalCount": _TOTAL,
    "Query.broadcasts": _PAGE,
    "BroadcastConnection.edges": _EDGES,
    "BroadcastConnection.totalCount": _TOTAL,
    "Query.auditLog": _PAGE,
    "AuditEntryConnection.edges": _EDGES,
    "AuditEntryConnection.totalCount": _TOTAL,
    "Broadcast.deliveries": _PAGE,
    "DeliveryConnection.edges": _EDGES,
    "DeliveryConnection.totalCount": _TOTAL,
    "Query.jobs": _PAGE,
    "JobConnection.edges": _EDGES,
    "JobConnection.totalCount": _TOTAL,
    "Query.taskRuns": _PAGE,
    "TaskRunConnection.edges": _EDGES,
    "TaskRunConnection.totalCount": _TOTAL,
    "Query.previewSegment": _PAGE,
    "SegmentPreview.sample": _EDGES,
    "SegmentPreview.count": _TOTAL,
    "Segment.preview": Weight(items=FirstArgument()),
    "Segment.count": _TOTAL,
    # Lists without a page: a shop's own figures, generous.
    "Query.segments": Weight(items=Fixed(20)),
    "Query.settings": Weight(items=Fixed(len(shop_settings.SPECS))),
    "Query.admins": Weight(items=Fixed(20)),
    "Query.cashiers": Weight(items=Fixed(50)),
    "Query.templates": Weight(items=Fixed(100)),  # 59 shipped, and the shop's own
    "Template.placeholders": Weight(items=Fixed(5)),
    "Customer.tags": Weight(items=Fixed(10)),
    "Customer.discounts": Weight(items=Fixed(20)),  # a welcome, birthdays, promos over years
    # Two GROUP BYs over the task runs kept; one row per task (ten today).
    "Query.taskStats": Weight(own=2 * COUNT, items=Fixed(20)),
    # Reports: kpi 17 ms + 20-25 µs a day; discountStats 3 ms + 16 µs a day.
    "Query.kpi": Weight(period=Period(base=4_000, per_day=5)),
    "Query.discountStats": Weight(period=Period(base=500, per_day=4)),
    "KpiReport.buckets": Weight(items=Symbol.BUCKETS),
    "Series.points": Weight(items=Symbol.BUCKETS),
    "KpiReport.broadcasts": Weight(items=Fixed(100)),  # broadcasts within the period
    "DiscountKpi.byKind": Weight(items=Fixed(len(DiscountKind))),
    "RedemptionKpi.byCashier": Weight(items=Fixed(50)),  # cashier and store pairs
    "RedemptionKpi.byStore": Weight(items=Fixed(5)),
    "DiscountStats.byStatus": Weight(items=Fixed(len(DiscountStatus))),
    "DiscountStats.byKind": Weight(items=Fixed(len(DiscountKind))),
}
DEFAULT_WEIGHT = Weight()
UNDECLARED_LIST = Fixed(MAX_PAGE_SIZE)  # only if the test that forbids it was ignored


@dataclass(frozen=True)
class Cost:
    """A polynomial in the sizes fixed further out: {(page power, buckets power): units}."""

    terms: Mapping[tuple[int, int], int] = field(default_factory=dict)

    @staticmethod
    def of(units: int) -> Cost:
        return Cost({(0, 0): units}) if units else ZERO

    def __add__(self, other: Cost) -> Cost:
        if not other.terms:
            return self
        terms = dict(self.terms)
        for powers, units in other.terms.items():
            terms[powers] = terms.get(powers, 0) + units
        return Cost(terms)

    def times(self, items: int) -> Cost:
        return Cost({powers: units * items for powers, units in self.terms.items()})

    def times_symbol(self, symbol: Symbol) -> Cost:
        def raised(powers: tuple[int, int]) -> tuple[int, int]:
            page, buckets = powers
            return (page + 1, buckets) if symbol is Symbol.PAGE else (page, buckets + 1)

        return Cost({raised(powers): units for powers, units in self.terms.items()})

    def fixing(self, symbol: Symbol, value: int) -> Cost:
        """The same cost once `symbol` is known to be `value`."""
        total = ZERO
        for (page, buckets), units in self.terms.items():
            if symbol is Symbol.PAGE:
                total += Cost({(0, buckets): units * value**page})
            else:
                total += Cost({(page, 0): units * value**buckets})
        return total

    @property
    def units(self) -> int:
        """The cost; a size nothing around fixed counts at its largest."""
        page, buckets = Symbol.PAGE.most, Symbol.BUCKETS.most
        return sum(units * page**p * buckets**b for (p, b), units in self.terms.items())


ZERO = Cost()
ONE = Cost.of(1)


class _Costing:
    """One operation's cost, each fragment costed once (it needs the operation's variables)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.visited = 0
        self.values: dict[str, Any] = {
            definition.variable.name.value: value_from_ast_untyped(definition.default_value)
            for definition in operation.variable_definitions or ()
            if definition.default_value is not None
        }
        self.values.update(variables)
        self.fragments: dict[str, Cost] = {}
        definitions = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        spreads = {name: list(_spreads(f.selection_set)) for name, f in definitions.items()}
        for name in document_limits.dependencies_first(spreads):
            fragment = definitions[name]
            on = schema.get_type(fragment.type_condition.name.value)
            self.fragments[name] = self.selection_set(fragment.selection_set, on)

    def selection_set(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None
    ) -> Cost:
        total = ZERO
        for selection in selection_set.selections:
            self.visited += 1
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                on = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_set(selection.selection_set, on)
            elif isinstance(selection, FragmentSpreadNode):
                # Unknown or cyclic: graphql-core's own rules report it.
                total += self.fragments.get(selection.name.value, ZERO)
        return total

    def field(self, node: FieldNode, parent: GraphQLNamedType | None) -> Cost:
        definition = _field_of(parent, node.name.value)
        if definition is None or parent is None or parent.name.startswith("__"):
            # Unknown (another rule refuses it), `__typename`, or introspection
            # (development only; as large as the schema): each field once.
            inner = self.selection_set(node.selection_set, None) if node.selection_set else ZERO
            return ONE + inner
        weight = FIELDS.get(f"{parent.name}.{node.name.value}", DEFAULT_WEIGHT)
        inner = ZERO
        if node.selection_set:
            inner = self.selection_set(node.selection_set, get_named_type(definition.type))
        if is_list_type(get_nullable_type(definition.type)):
            inner = self._items(inner if node.selection_set else ONE, weight, node, definition)
        own = weight.own
        if weight.page:
            inner = inner.fixing(Symbol.PAGE, self._page(node, definition))
        if weight.period:
            days, buckets = self._period(node, definition)
            own = weight.period.base + weight.period.per_day * days
            inner = inner.fixing(Symbol.BUCKETS, buckets)
        return Cost.of(own) + inner

    def _items(self, each: Cost, weight: Weight, node: FieldNode, definition: GraphQLField) -> Cost:
        size = weight.items or UNDECLARED_LIST
        if isinstance(size, Symbol):
            return each.times_symbol(size)
        if isinstance(size, FirstArgument):
            return each.times(self._page(node, definition))
        return each.times(size.items)

    def _argument(self, node: FieldNode, definition: GraphQLField, name: str) -> Any:
        """The argument's value as the resolver will see it, or Undefined if unknown."""
        for argument in node.arguments or ():
            if argument.name.value == name:
                value = argument.value
                if isinstance(value, VariableNode):
                    return self.values.get(value.name.value, Undefined)
                return value_from_ast_untyped(value)
        return _declared_default(definition.args.get(name))

    def _page(self, node: FieldNode, definition: GraphQLField) -> int:
        """`first`, within 1..MAX_PAGE_SIZE (beyond, the resolver refuses it: VALIDATION)."""
        first = self._argument(node, definition, "first")
        if isinstance(first, int) and not isinstance(first, bool):
            return min(max(first, 1), MAX_PAGE_SIZE)
        return MAX_PAGE_SIZE

    def _period(self, node: FieldNode, definition: GraphQLField) -> tuple[int, int]:
        """(days, buckets) of start..end; a period the resolver refuses counts as the longest."""
        start = _date(self._argument(node, definition, "start"))
        end = _date(self._argument(node, definition, "end"))
        longest = report.MAX_WINDOW_DAYS
        if start is None or end is None or not 0 <= (end - start).days < longest:
            return longest, longest
        days = (end - start).days + 1
        granularity = _granularity(self._argument(node, definition, "granularity"))
        if granularity is report.Granularity.WEEK:
            first, last = (report.bucket_start(d, granularity) for d in (start, end))
            return days, (last - first).days // 7 + 1
        if granularity is report.Granularity.MONTH:
            return days, (end.year - start.year) * 12 + end.month - start.month + 1
        return days, days


def _field_of(parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        found: GraphQLField | None = parent.fields.get(name)
        return found
    return None


def _spreads(selection_set: SelectionSetNode) -> Iterator[str]:
    pending = [selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                yield selection.name.value
            elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
                pending.append(selection.selection_set)


def _date(value: object) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _granularity(value: object) -> report.Granularity:
    """DAY unless WEEK or MONTH is given (an unknown value is refused elsewhere)."""
    name = value.name if isinstance(value, Enum) else value
    if isinstance(name, str) and name.upper() in report.Granularity.__members__:
        return report.Granularity[name.upper()]
    return report.Granularity.DAY


@dataclass(frozen=True)
class OperationCost:
    """An operation's cost in units, and the selections read to find it."""

    units: int
    visited: int


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
) -> OperationCost | None:
    """The cost of the operation that would run; None when none would (graphql-core says why)."""
    operations = [
        definition
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
        and (
            operation_name is None or (definition.name and definition.name.value == operation_name)
        )
    ]
    if len(operations) != 1:
        return None
    costing = _Costing(schema, document, operations[0], variables or {})
    root = schema.get_root_type(operations[0].operation)
    total = costing.selection_set(operations[0].selection_set, root)
    return OperationCost(total.units, costing.visited)


def _declared_default(declared: GraphQLArgument | None) -> Any:
    """An argument's default: as a value (a schema built in code, like strawberry's) or as
    a literal (a schema built from SDL, like the exported one)."""
    if declared is None:
        return Undefined
    if declared.default_value is not Undefined:
        return declared.default_value
    default = declared.default
    if default is None:
        return Undefined
    if default.value is not Undefined:
        return default.value
    return Undefined if default.literal is None else value_from_ast_untyped(default.literal)
