"""Broadcasts as the admin API shows them: the card, its stats and its delivery rows."""

import datetime as dt

import strawberry
from strawberry.types import Info

from backend.domain import broadcasts, pagination
from backend.domain import models as m
from backend.graphql.customers.types import Customer
from backend.graphql.mapping import copied
from backend.graphql.pagination import Connection, connection, decode_cursor
from backend.graphql.scalars import BroadcastStatus, DeliveryStatus, ParseMode, to_api, to_domain
from backend.graphql.segments import Segment

DELIVERY_ORDERING = pagination.Ordering(
    m.BroadcastDelivery.id, m.BroadcastDelivery.id, pagination.Direction.ASC
)


@strawberry.type(description="A broadcast's status and its delivery rows counted by status.")
class BroadcastStats:
    status: BroadcastStatus
    total: int
    sent: int
    failed: int
    blocked: int
    pending: int

    @classmethod
    def of(cls, stats: broadcasts.BroadcastStats) -> "BroadcastStats":
        return copied(cls, stats, status=to_api(BroadcastStatus, stats.status))


@strawberry.type(description="One customer's copy of a broadcast.")
class Delivery:
    id: int
    customer_id: int
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    sent_at: dt.datetime | None

    @strawberry.field
    async def customer(self, info: Info) -> Customer | None:
        row = await info.context.loaders.customer.load(self.customer_id)
        return Customer.of(row) if row else None

    @classmethod
    def of(cls, row: m.BroadcastDelivery) -> "Delivery":
        return copied(cls, row, status=to_api(DeliveryStatus, row.status))


@strawberry.type(description="A message to many customers, and where its sending stands.")
class Broadcast:
    id: int
    title: str
    text: str
    parse_mode: ParseMode
    status: BroadcastStatus
    segment_id: int | None = strawberry.field(description="Null: every active customer.")
    promo_percent: int | None = strawberry.field(
        description="Each recipient gets a discount of this percent (for {code} and {percent})."
    )
    scheduled_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @strawberry.field
    async def segment(self, info: Info) -> Segment | None:
        if self.segment_id is None:
            return None
        row = await info.context.loaders.segment.load(self.segment_id)
        return Segment.of(row) if row else None

    @strawberry.field
    async def stats(self, info: Info) -> BroadcastStats:
        stats: broadcasts.BroadcastStats = await info.context.loaders.broadcast_stats.load(self.id)
        return BroadcastStats.of(stats)

    @strawberry.field(description="In the order they were created.")
    async def deliveries(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        status: DeliveryStatus | None = None,
    ) -> Connection[Delivery]:
        query = broadcasts.delivery_listing(self.id, to_domain(m.DeliveryStatus, status))
        session = await info.context.session()
        page = await pagination.keyset_page(
            session,
            query,
            DELIVERY_ORDERING,
            first=first,
            after=decode_cursor(after, DELIVERY_ORDERING),
        )

        async def total() -> int:
            return await pagination.count(session, query)

        return connection(page, Delivery.of, total)

    @classmethod
    def of(cls, row: m.Broadcast) -> "Broadcast":
        return copied(
            cls,
            row,
            parse_mode=to_api(ParseMode, row.parse_mode),
            status=to_api(BroadcastStatus, row.status),
        )
