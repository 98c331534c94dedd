"""Validation, cached by document, then the cost limit with this request's variables.

The model (what a document costs) is `query_cost.py`; this is where a request
over `GRAPHQL_MAX_QUERY_COST` is refused. Validation depends only on the
document (and the schema and rules), so its answer is cached, least recently
used out first (`document_cache`, issue 19);
the cost depends on the request's variables (`first: $first`), so it is
computed each time, after validation and only when validation found nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from backend.graphql.document_cache import validated
from backend.graphql.query_cost import COST_MARKER, DEFAULT_LIMIT, operation_cost


class LimitQueryCost(SchemaExtension):
    """Validates (cached), then refuses an operation costing more than the limit.

    It takes Strawberry's validation step over (Strawberry skips its own when
    `pre_execution_errors` is set), so it comes after every extension that
    adds validation rules; the cache is keyed by the parsed document, which
    `document_cache.CachedParse` hands out as the same object for the same text.

    Only a document no rule refused is costed: a wrong or oversized one gets
    its own code (INVALID_QUERY, QUERY_TOO_COMPLEX) and no second one, and
    its arguments may not mean anything yet. The limit is the setting
    `GRAPHQL_MAX_QUERY_COST` of the context's runtime (read per request, so a
    test or an operator can change it without a new schema).
    """

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and context.pre_execution_errors is None:
            context.pre_execution_errors = _cost_errors(context)
        yield


def _cost_errors(context: Any) -> list[GraphQLError]:
    """Validation's errors (a copy of the cached list), else the cost's refusal, else none."""
    errors = validated(
        context.schema._schema,  # noqa: SLF001 (Strawberry has no public name for it)
        context.graphql_document,
        context.validation_rules,
    )
    if errors:
        return list(errors)
    limit = _limit(context.context)
    cost = operation_cost(
        context.schema._schema,  # noqa: SLF001
        context.graphql_document,
        context.variables or {},
        context.operation_name,
    )
    if cost is None or cost.units <= limit:
        return []
    message = (
        f"Query cost {cost.units} is {COST_MARKER} of {limit}: ask for smaller"
        " pages, shorter periods or fewer fields"
    )
    return [GraphQLError(message, extensions={"cost": cost.units, "limit": limit})]


def _limit(context: object) -> int:
    settings = getattr(context, "settings", None)
    limit = getattr(settings, "graphql_max_query_cost", DEFAULT_LIMIT)
    return limit if isinstance(limit, int) else DEFAULT_LIMIT
