"""Discounts in the admin API: list, look up by id or code, issue, cancel, stats."""

import datetime as dt
from decimal import Decimal

import strawberry
from strawberry.types import Info

from backend.domain import discount_search, discounts, kpi, models, notifications, pagination
from backend.domain.errors import CodeNotFound, ValidationFailed
from backend.domain.models import Discount as DiscountRow
from backend.graphql.customer_messages import send_after_commit
from backend.graphql.customers.types import Discount
from backend.graphql.mapping import copied
from backend.graphql.pagination import Connection, connection, decode_cursor
from backend.graphql.permissions import allow
from backend.graphql.scalars import (
    DiscountKind,
    DiscountStatus,
    require_aware,
    to_api,
    to_domain,
)

ORDERING = pagination.Ordering(DiscountRow.issued_at, DiscountRow.id, pagination.Direction.DESC)


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
            kinds=tuple(to_domain(models.DiscountKind, kind) for kind in self.kinds or ()),
            statuses=tuple(to_domain(models.DiscountStatus, one) for one in self.statuses or ()),
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


@strawberry.type
class StatusCount:
    status: DiscountStatus
    count: int

    @classmethod
    def of(cls, count: kpi.StatusCount) -> "StatusCount":
        return cls(status=to_api(DiscountStatus, count.status), count=count.count)


@strawberry.type
class KindCount:
    kind: DiscountKind
    count: int

    @classmethod
    def of(cls, count: kpi.KindCount) -> "KindCount":
        return cls(kind=to_api(DiscountKind, count.kind), count=count.count)


@strawberry.type(description="Discounts issued in a period, and redemptions in it.")
class DiscountStats:
    start: dt.date
    end: dt.date
    zone: str
    issued: int
    by_status: list[StatusCount]
    by_kind: list[KindCount]
    average_percent: float | None
    redeemed: int
    purchase_total: Decimal

    @classmethod
    def of(cls, stats: kpi.DiscountStats) -> "DiscountStats":
        return copied(
            cls,
            stats,
            by_status=[StatusCount.of(count) for count in stats.by_status],
            by_kind=[KindCount.of(count) for count in stats.by_kind],
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
        session = await info.context.session()
        if id is not None:
            row = await discounts.find_by_id(session, id)
            return Discount.of(row) if row else None
        try:
            return Discount.of(await discounts.find_by_code(session, code or ""))
        except CodeNotFound:
            return None

    @strawberry.field(permission_classes=allow("Query.discountStats"))
    async def discount_stats(self, info: Info, start: dt.date, end: dt.date) -> DiscountStats:
        session = await info.context.session()
        stats = await kpi.discount_stats(
            session, start=start, end=end, zone=info.context.settings.zone
        )
        return DiscountStats.of(stats)


@strawberry.type
class DiscountMutations:
    @strawberry.mutation(permission_classes=allow("Mutation.issueDiscount"))
    async def issue_discount(self, info: Info, input: IssueDiscountInput) -> Discount:
        actor = await info.context.actor()
        request = discounts.IssueRequest(
            to_domain(models.DiscountKind, input.kind),
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
