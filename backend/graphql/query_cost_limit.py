"""The cost limit as graphql-core sees it: a validation rule bound per request.

The model (what a document costs) is `query_cost.py`; this is where a request
over `GRAPHQL_MAX_QUERY_COST` is refused. A graphql-core rule cannot see the
request's variables, so `LimitQueryCost` binds them (and the limit) into the
rule for each request.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, cast

from graphql import DocumentNode, GraphQLError, ValidationContext, ValidationRule
from strawberry.extensions import SchemaExtension

from backend.graphql.query_cost import COST_MARKER, DEFAULT_LIMIT, operation_cost


class QueryCost(ValidationRule):
    """Refuses an operation costing more than `limit` (bound per request by `LimitQueryCost`).

    Only a document no other rule refused is costed: a wrong or oversized one
    gets its own code (INVALID_QUERY, QUERY_TOO_COMPLEX) and no second one,
    and its arguments may not mean anything yet.
    """

    limit: ClassVar[int] = DEFAULT_LIMIT
    variables: ClassVar[Mapping[str, Any]] = {}
    operation_name: ClassVar[str | None] = None

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self._refused = False
        report = context.on_error

        def noted(error: GraphQLError) -> None:
            self._refused = True
            report(error)

        context.on_error = noted  # type: ignore[method-assign]

    def leave_document(self, node: DocumentNode, *_args: object) -> None:
        if self._refused:
            return
        cost = operation_cost(self.context.schema, node, self.variables, self.operation_name)
        if cost is not None and cost.units > self.limit:
            message = (
                f"Query cost {cost.units} is {COST_MARKER} of {self.limit}: ask for smaller"
                " pages, shorter periods or fewer fields"
            )
            self.report_error(
                GraphQLError(message, extensions={"cost": cost.units, "limit": self.limit})
            )

    @classmethod
    def bound(
        cls, limit: int, variables: Mapping[str, Any], operation_name: str | None
    ) -> type[QueryCost]:
        attributes = {"limit": limit, "variables": variables, "operation_name": operation_name}
        return cast(type[QueryCost], type(cls.__name__, (cls,), attributes))


class LimitQueryCost(SchemaExtension):
    """Adds `QueryCost` to this request's validation, with its variables and limit.

    The limit is the setting `GRAPHQL_MAX_QUERY_COST` of the context's runtime
    (read per request, so a test or an operator can change it without a new schema).
    """

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        rule = QueryCost.bound(
            _limit(context.context), context.variables or {}, context.operation_name
        )
        context.validation_rules = (*context.validation_rules, rule)
        yield


def _limit(context: object) -> int:
    settings = getattr(context, "settings", None)
    limit = getattr(settings, "graphql_max_query_cost", DEFAULT_LIMIT)
    return limit if isinstance(limit, int) else DEFAULT_LIMIT
