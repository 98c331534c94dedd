"""Discounts in the admin API: list, look up by id or code, issue, cancel, stats."""

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from backend.domain import discount_search, discounts, kpi, notifications, pagination
from backend.domain.clock import last_valid_day
from backend.domain.errors import CodeNotFound, ValidationFailed
from backend.domain.models import Discount as DiscountRow
from backend.graphql.customer_messages import CustomerNotification, send_after_commit
from backend.graphql.mapping import copied
from backend.graphql.pagination import Connection, connection, decode_cursor
from backend.graphql.permissions import allow
from backend.graphql.scalars import ActorKind, DiscountKind, DiscountStatus, require_aware

if TYPE_CHECKING:
    from backend.graphql.customers import Customer
    from backend.graphql.staff import Cashier

ORDERING = pagination.Ordering(DiscountRow.issued_at, DiscountRow.id, pagination.Direction.DESC)


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
    async def customer(
        self, info: Info
    ) -> Annotated["Customer", strawberry.lazy("backend.graphql.customers")] | None:
        from backend.graphql.customers import Customer

        row = await info.context.loaders.customer.load(self.customer_id)
        return Customer.of(row) if row else None

    @strawberry.field(description="Who redeemed it at the till.")
    async def cashier(
        self, info: Info
    ) -> Annotated["Cashier", strawberry.lazy("backend.graphql.staff")] | None:
        from backend.graphql.staff import Cashier

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
    def of(cls, row: DiscountRow) -> "Discount":
        return copied(cls, row, issued_by=row.issued_by_kind)


@strawberry.input
class DiscountFilter:
    kinds: list[DiscountKind] | None = None
    statuses: list[DiscountStatus] | None = None
    issued_from: dt.datetime | None = None
    issued_to: dt.datetime | None = None
    cashier_id: int | None = None
    store: str | None = None
    customer_id: int | None = None
    broadcast_id: int | None = None

    def to_domain(self) -> discount_search.DiscountFilter:
        return discount_search.DiscountFilter(
            kinds=tuple(kind for kind in self.kinds or ()),
            statuses=tuple(self.statuses or ()),
            issued_from=require_aware(self.issued_from, "issuedFrom"),
            issued_to=require_aware(self.issued_to, "issuedTo"),
            cashier_id=self.cashier_id,
            store=self.store,
            customer_id=self.customer_id,
            broadcast_id=self.broadcast_id,
        )


@strawberry.input
class IssueDiscountInput:
    customer_id: int
    kind: DiscountKind = DiscountKind.MANUAL
    reason: str
    percent: int | None = None
    valid_days: int | None = None


StatusCount = strawberry.type(kpi.StatusCount)
KindCount = strawberry.type(kpi.KindCount)
DiscountStats = strawberry.type(
    kpi.DiscountStats, description="Discounts issued in a period, and redemptions in it."
)


@strawberry.type
class DiscountQueries:
    @strawberry.field(permission_classes=allow("Query.discounts"))
    async def discounts(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        filter: DiscountFilter | None = None,
    ) -> Connection[Discount]:
        query = discount_search.query((filter or DiscountFilter()).to_domain())
        session = await info.context.session()
        page = await pagination.keyset_page(
            session, query, ORDERING, first=first, after=decode_cursor(after, ORDERING)
        )

        async def total() -> int:
            return await pagination.count(session, query)

        return connection(page, Discount.of, total)

    @strawberry.field(permission_classes=allow("Query.discount"), description="By id or by code.")
    async def discount(
        self, info: Info, id: int | None = None, code: str | None = None
    ) -> Discount | None:
        if (id is None) == (code is None):
            raise ValidationFailed("give exactly one of id and code", field="id")
        if id is not None:
            session = await info.context.session()
            row = await session.get(DiscountRow, id)
            return Discount.of(row) if row else None
        session = await info.context.session()
        try:
            return Discount.of(await discounts.find_by_code(session, code or ""))
        except CodeNotFound:
            return None

    @strawberry.field(permission_classes=allow("Query.discountStats"))
    async def discount_stats(self, info: Info, start: dt.date, end: dt.date) -> DiscountStats:  # type: ignore[valid-type]
        session = await info.context.session()
        return await kpi.discount_stats(
            session, start=start, end=end, zone=info.context.settings.zone
        )


@strawberry.type
class DiscountMutations:
    @strawberry.mutation(permission_classes=allow("Mutation.issueDiscount"))
    async def issue_discount(self, info: Info, input: IssueDiscountInput) -> Discount:
        actor = await info.context.actor()
        request = discounts.IssueRequest(
            input.kind,
            percent=input.percent,
            valid_days=input.valid_days,
            reason=input.reason,
        )
        now, zone = info.context.now(), info.context.settings.zone
        async with info.context.transaction() as session:
            row = await discounts.issue(
                session, input.customer_id, request, actor=actor, now=now, zone=zone
            )
            plan = await notifications.plan_discount_notices(
                session, [row], actor=actor, now=now, zone=zone
            )
            send_after_commit(session, plan.queued)  # held ones: the sweep, in the morning
        return Discount.of(row)

    @strawberry.mutation(permission_classes=allow("Mutation.cancelDiscount"))
    async def cancel_discount(self, info: Info, id: int, reason: str | None = None) -> Discount:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            row = await discounts.cancel(
                session, id, actor=actor, now=info.context.now(), reason=reason
            )
        return Discount.of(row)


ROOTS = {"query": DiscountQueries, "mutation": DiscountMutations}
