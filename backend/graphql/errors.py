"""What a GraphQL client sees when something goes wrong.

* A `DomainError` keeps its message and gets `extensions.code` (one enum,
  `ErrorCode`) plus its details: the SPA switches on the code.
* A document that does not parse or validate gets INVALID_QUERY, and one over
  the document limits (tokens; depth, aliases, expanded fields and spreads,
  `document_limits.py`) QUERY_TOO_COMPLEX.
* Anything else is a bug: the client gets a generic message with the request
  id, the log gets the traceback under the same id (the id of the HTTP
  request, also in the response's X-Request-ID header and on every log line
  of the request; see `backend.observability.requests`).

Every code sent is counted in `dvorik_graphql_errors_total{code}`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import StreamExecutionResult

from backend.domain.audit import jsonable
from backend.domain.errors import DomainError, ErrorCode
from backend.graphql import document_limits
from backend.observability.metrics import record_graphql_errors

log = logging.getLogger("dvorik.graphql")

LIMIT_MARKERS = (
    *document_limits.MARKERS,
    "token limit",
    "tokens",
    "Validation aborted",  # graphql-core gives up on a document with too many errors
    "Maximum introspection depth",
)


def translate(error: GraphQLError, request_id: str) -> GraphQLError:
    original = error.original_error
    if isinstance(original, DomainError):
        extensions = {"code": original.code.value, **jsonable(original.details)}
        return _with(error, original.message, extensions)
    if original is None:
        code = ErrorCode.INVALID_QUERY
        if any(marker in error.message for marker in LIMIT_MARKERS):
            code = ErrorCode.QUERY_TOO_COMPLEX
        return _with(error, error.message, {**(error.extensions or {}), "code": code.value})
    if isinstance(original, GraphQLError):  # e.g. variable coercion inside execution
        return _with(error, error.message, {"code": ErrorCode.INVALID_QUERY.value})
    log.error(
        "unexpected error in %s (request %s)",
        error.path,
        request_id,
        exc_info=original,
        extra={"request_id": request_id, "graphql_path": error.path},
    )
    message = f"Internal server error; quote request id {request_id} to support"
    return _with(error, message, {"code": ErrorCode.INTERNAL.value, "requestId": request_id})


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
    """Translates once per result: the final one (HTTP) or each streamed one (WebSocket)."""

    def __init__(self) -> None:
        self._streamed = False

    def _translate(self, result: object) -> None:
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            request_id = getattr(self.execution_context.context, "request_id", "-")
            translated = [translate(error, request_id) for error in errors]
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
