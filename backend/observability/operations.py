"""GraphQL operation durations, by operation name and type, as a schema extension.

HTTP metrics see one route, `/graphql`, for everything the SPA does; this
extension times each operation (parse, validation, execution) under its
name, so a slow dashboard query stands out from a quick customer lookup.
Error codes are counted where they are decided, in `backend.graphql.errors`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from backend.observability.metrics import record_graphql_operation


class MeasureOperations(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            record_graphql_operation(self._name(), self._kind(), time.perf_counter() - started)

    def _name(self) -> str | None:
        try:
            return self.execution_context.operation_name
        except Exception:  # a document that did not parse has no name
            return None

    def _kind(self) -> str:
        try:
            return self.execution_context.operation_type.value
        except Exception:  # did not parse, or no operation of the requested name
            return "invalid"
