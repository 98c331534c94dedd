"""What a GraphQL client sees when something goes wrong.

* A `DomainError` keeps its message and gets `extensions.code` (one enum,
  `ErrorCode`) plus its details: the SPA switches on the code.
* A document that does not parse or validate gets INVALID_QUERY, one over
  the document limits (tokens; depth, aliases, expanded fields and spreads,
  `document_limits.py`) QUERY_TOO_COMPLEX, and one over the cost limit
  (`query_cost.py`) QUERY_TOO_COSTLY, its cost and the limit in `extensions`.
* Without introspection (production), those messages name nothing the
  request did not: graphql-core's "Did you mean …?" is dropped and any other
  name of the schema reads `[hidden]`. Introspection off is pointless if
  "Cannot query field 'custmer'. Did you mean 'customer' or 'customers'?" and
  "Expected value of type 'CustomerFilter'" map the schema for anyone, signed
  in or not (validation runs before anyone is). Development keeps them whole.
* An outage (the database, Redis or the task queue unreachable, as
  `backend.outages` tells them) is no bug: UNAVAILABLE with the request id
  and `retry_after_seconds`, and a one-line warning in the log, so the SPA
  can say "try again in a moment" and the alert on INTERNAL stays quiet.
* Anything else is a bug: the client gets a generic message with the request
  id, the log gets the traceback under the same id (the id of the HTTP
  request, also in the response's X-Request-ID header and on every log line
  of the request; see `backend.observability.requests`).

Every code sent is counted in `dvorik_graphql_errors_total{code}`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

from graphql import GraphQLError, introspection_types, specified_scalar_types
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import StreamExecutionResult

from backend.domain.audit import jsonable
from backend.domain.errors import DomainError, ErrorCode
from backend.graphql import document_limits, query_cost
from backend.observability.metrics import record_graphql_errors
from backend.outages import describe, is_outage

log = logging.getLogger("dvorik.graphql")

LIMIT_MARKERS = (
    *document_limits.MARKERS,
    "token limit",
    "tokens",
    "Validation aborted",  # graphql-core gives up on a document with too many errors
    "Maximum introspection depth",
)
HIDDEN = "[hidden]"
_SUGGESTION = re.compile(r"\s*Did you mean\b[^?]*\?")
_QUOTED = re.compile(r"'([^']*)'")
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
# The spec's names for the root types: `{ … }` is a Query whether it says so or not.
ROOT_NAMES = frozenset({"Query", "Mutation", "Subscription"})
# What UNAVAILABLE suggests waiting: the database's connect timeout (an outage
# answers within it) is 5 s, and /ready notices a restored service at once.
RETRY_AFTER_SECONDS = 5


def names_written(query: str | None, variables: object) -> frozenset[str]:
    """Every name-like word of the request, and the root types: what a message may echo back."""
    text = (query or "") + json.dumps(variables, ensure_ascii=False, default=str)
    return ROOT_NAMES | frozenset(_NAME.findall(text))


def without_schema_names(
    message: str, written: frozenset[str], schema_types: frozenset[str]
) -> str:
    """`message` without suggestions, and with every other name the request did not write hidden.

    A quoted part ('Query.customer(id:)', 'CustomerFilter') stays only if the
    request wrote each of its names; a bare type name ('Int cannot represent
    …') only if the request wrote it. Built-in scalars are no exception: a
    message may not tell the caller what an argument's type is either.
    """

    def quoted(match: re.Match[str]) -> str:
        return match.group(0) if set(_NAME.findall(match.group(1))) <= written else HIDDEN

    def bare(match: re.Match[str]) -> str:
        name = match.group(0)
        return HIDDEN if name in schema_types and name not in written else name

    message = _QUOTED.sub(quoted, _SUGGESTION.sub("", message))
    return _NAME.sub(bare, message)


def translate(
    error: GraphQLError, request_id: str, hide: Callable[[str], str] | None = None
) -> GraphQLError:
    """The error as the client sees it; `hide` rewrites the messages of refused documents."""
    original = error.original_error
    if isinstance(original, DomainError):
        extensions = {"code": original.code.value, **jsonable(original.details)}
        return _with(error, original.message, extensions)
    message = hide(error.message) if hide else error.message
    if original is None:
        code = ErrorCode.INVALID_QUERY
        if query_cost.COST_MARKER in error.message:
            code = ErrorCode.QUERY_TOO_COSTLY
        elif any(marker in error.message for marker in LIMIT_MARKERS):
            code = ErrorCode.QUERY_TOO_COMPLEX
        return _with(error, message, {**(error.extensions or {}), "code": code.value})
    if isinstance(original, GraphQLError):  # e.g. variable coercion inside execution
        return _with(error, message, {"code": ErrorCode.INVALID_QUERY.value})
    if is_outage(original):
        return unavailable(error, original, request_id)
    log.error(
        "unexpected error in %s (request %s)",
        error.path,
        request_id,
        exc_info=original,
        extra={"request_id": request_id, "graphql_path": error.path},
    )
    message = f"Internal server error; quote request id {request_id} to support"
    return _with(error, message, {"code": ErrorCode.INTERNAL.value, "requestId": request_id})


def unavailable(error: GraphQLError, original: BaseException, request_id: str) -> GraphQLError:
    log.warning(
        "%s in %s (request %s)",
        describe(original),
        error.path,
        request_id,
        extra={"request_id": request_id, "graphql_path": error.path},
    )
    message = (
        "Temporarily unavailable: a service the server needs does not answer;"
        f" try again in a few seconds (request id {request_id})"
    )
    extensions = {
        "code": ErrorCode.UNAVAILABLE.value,
        "requestId": request_id,
        "retry_after_seconds": RETRY_AFTER_SECONDS,
    }
    return _with(error, message, extensions)


def _with(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


class TranslateErrors(SchemaExtension):
    """Translates once per result: the final one (HTTP) or each streamed one (WebSocket).

    `hide_schema_names`: messages of refused documents name only what the request wrote.
    """

    def __init__(self, *, hide_schema_names: bool = False) -> None:
        self._streamed = False
        self._hide_schema_names = hide_schema_names

    def _hider(self) -> Callable[[str], str] | None:
        if not self._hide_schema_names:
            return None
        context = self.execution_context
        written = names_written(context.query, context.variables)
        ours = context.schema.schema_converter.type_map
        types = frozenset({*ours, *introspection_types, *specified_scalar_types})

        def hide(message: str) -> str:
            return without_schema_names(message, written, types)

        return hide

    def _translate(self, result: object) -> None:
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            request_id = getattr(self.execution_context.context, "request_id", "-")
            hide = self._hider()
            translated = [translate(error, request_id, hide) for error in errors]
            result.errors = translated  # type: ignore[attr-defined]
            record_graphql_errors(str((e.extensions or {}).get("code")) for e in translated)

    def on_operation(self) -> Iterator[None]:
        self._streamed = False
        yield
        if not self._streamed:
            self._translate(self.execution_context.result)

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        self._streamed = True
        self._translate(result)
        yield None
