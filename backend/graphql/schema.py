"""The admin API's schema: every concept's queries and mutations, merged, with limits.

Limits keep one request from taking the database down: tokens (document
size), then depth (nested relations), aliases (the same field asked many
times), fields after fragments are expanded and fragment spreads, all in one
linear pass (`document_limits.py`). Errors are translated to typed `extensions.code` in `errors.py`;
each operation is timed under its name for `/metrics`.
"""

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from backend.graphql.document_limits import MAX_ALIASES, MAX_DEPTH, DocumentLimits
from backend.graphql.errors import TranslateErrors
from backend.observability.operations import MeasureOperations

PACKAGE = "backend.graphql"
PACKAGE_DIR = Path(__file__).parent

MAX_TOKENS = 3000
__all__ = ["MAX_ALIASES", "MAX_DEPTH", "MAX_TOKENS", "create_schema", "schema"]

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


def create_schema(*, introspection: bool = True) -> strawberry.Schema:
    extensions: list[Callable[[], SchemaExtension]] = [
        MeasureOperations,
        TranslateErrors,
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: AddValidationRules([DocumentLimits]),
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
    )


schema = create_schema()
