"""A customer and their discounts, as the admin API shows them.

`Customer.discounts` and `Discount.customer` point at each other, so the two
types are declared together: neither module has to import the other, at the
top or inside a resolver. The customers' and the discounts' queries and
mutations live with their concepts (`customers.queries`, `discounts`).
"""

import datetime as dt
from collections.abc import Awaitable
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.types import Info

from backend.domain import models as m
from backend.domain import notifications
from backend.domain.clock import last_valid_day
from backend.graphql.customer_messages import CustomerNotification
from backend.graphql.mapping import copied
from backend.graphql.permissions import hidden_unless
from backend.graphql.scalars import ActorKind, CustomerStatus, DiscountKind, DiscountStatus, to_api
from backend.graphql.staff import Cashier


@strawberry.type(description="A customer of the shop, as the customer bot knows them.")
class Customer:
    id: int
    telegram_id: str
    first_name: str
    last_name: str | None
    birthday: dt.date | None
    language: str | None
    source: str | None
    status: CustomerStatus
    note: str | None
    created_at: dt.datetime
    last_seen_at: dt.datetime
    subscribed_at: dt.datetime | None
    # Copied like the rest, read as null below marketing (`hidden_unless`); no resolver, so
    # a page's rows skip graphql-core's field machinery for them (`lean_execution`).
    username: str | None = strawberry.field(extensions=hidden_unless("Customer.username"))
    phone: str | None = strawberry.field(extensions=hidden_unless("Customer.phone"))
    model: strawberry.Private[m.Customer]

    # Filled by the list for its whole page (see `_PageExtras`); None: ask the DataLoader.
    preloaded_tags: strawberry.Private[list[str] | None] = None
    preloaded_discounts: strawberry.Private[list[m.Discount] | None] = None

    @strawberry.field(graphql_type=list[str])
    def tags(self, info: Info) -> list[str] | Awaitable[list[str]]:
        if self.preloaded_tags is not None:
            return self.preloaded_tags
        loaded: Awaitable[list[str]] = info.context.loaders.customer_tags.load(self.id)
        return loaded

    @strawberry.field(
        description="Newest first.",
        graphql_type=list["Discount"],
    )
    def discounts(self, info: Info) -> list["Discount"] | Awaitable[list["Discount"]]:
        if self.preloaded_discounts is not None:
            return _discounts(self.preloaded_discounts)
        return self._load_discounts(info)

    async def _load_discounts(self, info: Info) -> list["Discount"]:
        return _discounts(await info.context.loaders.customer_discounts.load(self.id))

    @classmethod
    def of(cls, row: m.Customer, **preloaded: Any) -> "Customer":
        return copied(
            cls,
            row,
            telegram_id=str(row.telegram_id),
            status=to_api(CustomerStatus, row.status),
            model=row,
            **preloaded,
        )


def _discounts(rows: list[m.Discount]) -> list["Discount"]:
    return [Discount.of(row) for row in rows]


@strawberry.type(description="A percent off behind a code a cashier types at the till.")
class Discount:
    id: int
    customer_id: int
    kind: DiscountKind
    percent: int
    code: str
    status: DiscountStatus
    issued_at: dt.datetime
    expires_at: dt.datetime
    redeemed_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    issued_by: ActorKind
    issued_by_admin_id: int | None
    reason: str | None
    cashier_id: int | None
    purchase_amount: Decimal | None
    store: str | None
    broadcast_id: int | None

    @strawberry.field
    async def customer(self, info: Info) -> Customer | None:
        row = await info.context.loaders.customer.load(self.customer_id)
        return Customer.of(row) if row else None

    @strawberry.field(description="Who redeemed it at the till.")
    async def cashier(self, info: Info) -> Cashier | None:
        if self.cashier_id is None:
            return None
        row = await info.context.loaders.cashier.load(self.cashier_id)
        return Cashier.of(row) if row else None

    @strawberry.field(
        description="The last day the code can be used, in the shop's time zone: the day the"
        " customer and the till are shown (expiresAt is the midnight after it)."
    )
    def valid_through(self, info: Info) -> dt.date:
        return last_valid_day(self.expires_at, info.context.settings.zone)

    @strawberry.field(
        description="Whether the customer is told of it: queued, held for quiet hours, sent,"
        " or not sent and why (blocked, unsubscribed). None: no notice (given by the bot)."
    )
    async def notification(self, info: Info) -> CustomerNotification | None:
        session = await info.context.session()
        row = await notifications.for_discount(session, self.id)
        return CustomerNotification.of(row) if row else None

    @classmethod
    def of(cls, row: m.Discount) -> "Discount":
        return copied(
            cls,
            row,
            kind=to_api(DiscountKind, row.kind),
            status=to_api(DiscountStatus, row.status),
            issued_by=to_api(ActorKind, row.issued_by_kind),
        )
