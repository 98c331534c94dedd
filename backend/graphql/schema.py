"""The admin API's schema: every concept's queries and mutations, merged, with limits.

Limits keep one request from taking the database down: tokens (document
size), then depth (nested relations), aliases (the same field asked many
times), fields after fragments are expanded and fragment spreads, all in one
linear pass (`document_limits.py`), and the request's cost: pages, lists and
report periods weighed with its variables (`query_cost.py`). Errors are
translated to typed `extensions.code` in `errors.py`; without introspection
(production) their messages name nothing the request did not: no "Did you
mean …" and no type names to map the schema with. Each operation is timed
under its name for `/metrics`.
"""

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    SchemaExtension,
)
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionResult

from backend.domain.errors import ErrorCode
from backend.graphql.document_cache import CachedParse
from backend.graphql.document_limits import MAX_ALIASES, MAX_DEPTH, DocumentLimits
from backend.graphql.errors import TranslateErrors
from backend.graphql.lean_execution import LeanExecutionContext
from backend.graphql.query_cost_limit import LimitQueryCost
from backend.graphql.read_routing import RouteReads
from backend.observability.operations import MeasureOperations

PACKAGE = "backend.graphql"
PACKAGE_DIR = Path(__file__).parent

MAX_TOKENS = 3000
# Characters in one document, checked before the lexer runs: comments and
# whitespace are not tokens, so without it a 1 MB comment cost ~150 ms of the
# event loop. The contract's largest document is under 2,000 characters.
MAX_DOCUMENT_LENGTH = 32_768
__all__ = [
    "MAX_ALIASES",
    "MAX_DEPTH",
    "MAX_DOCUMENT_LENGTH",
    "MAX_TOKENS",
    "create_schema",
    "schema",
]

ROOT_KINDS = ("query", "mutation", "subscription")


def collect_roots() -> dict[str, list[type]]:
    """Every module of this package may contribute root types through a `ROOTS` dict.

    A new concept is one new module (`ROOTS = {"query": ..., "mutation": ...}`),
    with no central list to edit; modules are read in name order, so the schema
    text is stable.
    """
    roots: dict[str, list[type]] = {kind: [] for kind in ROOT_KINDS}
    for module_info in sorted(pkgutil.iter_modules([str(PACKAGE_DIR)]), key=lambda i: i.name):
        module = importlib.import_module(f"{PACKAGE}.{module_info.name}")
        for kind, root in getattr(module, "ROOTS", {}).items():
            roots[kind].append(root)
    return roots


def _merged(name: str, parts: list[type]) -> type | None:
    return merge_types(name, tuple(parts)) if parts else None


class QuietSchema(strawberry.Schema):
    """Logs only unexpected errors (TranslateErrors does); domain errors are answers."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        return None

    async def execute(self, query: str | None, *args: Any, **kwargs: Any) -> ExecutionResult:
        """Refuses an over-long document before graphql-core reads a character of it."""
        if query is not None and len(query) > MAX_DOCUMENT_LENGTH:
            message = (
                f"The document is {len(query)} characters long. Allowed: {MAX_DOCUMENT_LENGTH}"
            )
            code = {"code": ErrorCode.QUERY_TOO_COMPLEX.value}
            return ExecutionResult(data=None, errors=[GraphQLError(message, extensions=code)])
        return await super().execute(query, *args, **kwargs)


def create_schema(*, introspection: bool = True) -> strawberry.Schema:
    """The schema; `introspection` (the IDE setting, off in production) also decides
    whether error messages may suggest names the caller did not write."""
    extensions: list[Callable[[], SchemaExtension]] = [
        MeasureOperations,
        lambda: TranslateErrors(hide_schema_names=not introspection),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        CachedParse,  # parsed and validated documents kept by text (issue 19)
        lambda: AddValidationRules([DocumentLimits]),
        LimitQueryCost,
        RouteReads,
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    roots = collect_roots()
    return QuietSchema(
        query=merge_types("Query", tuple(roots["query"])),
        mutation=_merged("Mutation", roots["mutation"]),
        subscription=_merged("Subscription", roots["subscription"]),
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True),
        execution_context_class=LeanExecutionContext,  # plain leaves inline (issue 19)
    )


schema = create_schema()
