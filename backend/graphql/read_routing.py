"""Which operations may read from the read replica, and the pin after a mutation.

A schema extension, because only the executed operation knows its kind: a
query over HTTP may read from the replica (`Context.read_sessions` decides,
by the rule of `backend.domain.read_replica`); a mutation reads from the
primary throughout, and once it has run, before its answer leaves, the admin
who ran it is pinned to the primary, so their next query sees what they
wrote. A failed mutation pins too: it may have written part of its work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from backend.graphql.context import Context


class RouteReads(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        kind = self.execution_context.operation_type
        if isinstance(context, Context):
            context.may_read_replica = kind is OperationType.QUERY
        yield
        if isinstance(context, Context) and kind is OperationType.MUTATION:
            await context.wrote()
