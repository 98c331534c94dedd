"""The broadcasts' list and card in the admin API."""

import strawberry
from strawberry.types import Info

from backend.domain import broadcasts, pagination
from backend.domain import models as m
from backend.graphql.broadcasts.types import Broadcast
from backend.graphql.pagination import Connection, connection, decode_cursor
from backend.graphql.permissions import allow
from backend.graphql.scalars import BroadcastStatus, to_domain

ORDERING = pagination.Ordering(m.Broadcast.id, m.Broadcast.id, pagination.Direction.DESC)


@strawberry.type
class BroadcastQueries:
    @strawberry.field(permission_classes=allow("Query.broadcasts"), description="Newest first.")
    async def broadcasts(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        status: list[BroadcastStatus] | None = None,
    ) -> Connection[Broadcast]:
        query = broadcasts.listing([to_domain(m.BroadcastStatus, one) for one in status or ()])
        session = await info.context.session()
        page = await pagination.keyset_page(
            session, query, ORDERING, first=first, after=decode_cursor(after, ORDERING)
        )

        async def total() -> int:
            return await pagination.count(session, query)

        return connection(page, Broadcast.of, total)

    @strawberry.field(permission_classes=allow("Query.broadcast"))
    async def broadcast(self, info: Info, id: int) -> Broadcast | None:
        row = await info.context.loaders.broadcast.load(id)
        return Broadcast.of(row) if row else None
