"""Customers in the admin API: list, card, edit, bulk actions."""

import datetime as dt
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from backend.domain import (
    bulk,
    customer_search,
    customers,
    discounts,
    pagination,
    segments,
    shop_settings,
)
from backend.domain import models as m
from backend.domain.clock import business_date
from backend.graphql.mapping import copied
from backend.graphql.pagination import Connection, SortDirection, connection, decode_cursor
from backend.graphql.permissions import allow, hidden_unless
from backend.graphql.scalars import CustomerStatus, DiscountKind, require_aware

if TYPE_CHECKING:
    from backend.graphql.discounts import Discount


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
    model: strawberry.Private[m.Customer]

    @strawberry.field(extensions=hidden_unless("Customer.username"))
    def username(self) -> str | None:
        return self.model.username

    @strawberry.field(extensions=hidden_unless("Customer.phone"))
    def phone(self) -> str | None:
        return self.model.phone

    @strawberry.field
    async def tags(self, info: Info) -> list[str]:
        result: list[str] = await info.context.loaders.customer_tags.load(self.id)
        return result

    @strawberry.field(description="Newest first.")
    async def discounts(
        self, info: Info
    ) -> list[Annotated["Discount", strawberry.lazy("backend.graphql.discounts")]]:
        from backend.graphql.discounts import Discount

        rows = await info.context.loaders.customer_discounts.load(self.id)
        return [Discount.of(row) for row in rows]

    @classmethod
    def of(cls, row: m.Customer) -> "Customer":
        return copied(cls, row, telegram_id=str(row.telegram_id), model=row)


@strawberry.enum
class CustomerOrderField(Enum):
    ID = "id"
    CREATED_AT = "created_at"
    LAST_SEEN_AT = "last_seen_at"


@strawberry.input
class CustomerOrder:
    field: CustomerOrderField = CustomerOrderField.CREATED_AT
    direction: SortDirection = SortDirection.DESC


@strawberry.input(description="All conditions must hold; omitted ones do not filter.")
class CustomerFilter:
    search: str | None = strawberry.field(
        default=None, description="Part of a name, username or phone, or a Telegram id."
    )
    status: list[CustomerStatus] | None = None
    tags_any: list[str] | None = None
    tags_all: list[str] | None = None
    tags_none: list[str] | None = None
    birthday_month: int | None = None
    has_active_discount: bool | None = None
    source: list[str] | None = None
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None

    def to_domain(self) -> customer_search.CustomerFilter:
        rule_fields = (
            "status",
            "tags_any",
            "tags_all",
            "tags_none",
            "birthday_month",
            "has_active_discount",
            "source",
        )
        raw: dict[str, Any] = {
            name: getattr(self, name) for name in rule_fields if getattr(self, name) is not None
        }
        return customer_search.CustomerFilter(
            search=self.search,
            rules=segments.parse_rules(raw),
            created_from=require_aware(self.created_from, "createdFrom"),
            created_to=require_aware(self.created_to, "createdTo"),
        )


@strawberry.input
class UpdateCustomerInput:
    phone: str | None = None
    birthday: dt.date | None = None
    note: str | None = None
    clear_phone: bool = False
    clear_birthday: bool = False
    clear_note: bool = False
    add_tags: list[str] = strawberry.field(default_factory=list)
    remove_tags: list[str] = strawberry.field(default_factory=list)


@strawberry.input(description="Either explicit customer ids or a segment.")
class CustomerSelection:
    ids: list[int] | None = None
    segment_id: int | None = None


@strawberry.type(description="A bulk action ran now (affected) or in the background (job).")
class BulkResult:
    affected: int
    job_id: str | None


@strawberry.type
class CustomerQueries:
    @strawberry.field(permission_classes=allow("Query.customers"))
    async def customers(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        filter: CustomerFilter | None = None,
        order_by: CustomerOrder | None = None,
    ) -> Connection[Customer]:
        order = order_by or CustomerOrder()
        ordering = customer_search.ordering(
            order.field.value, pagination.Direction(order.direction.value)
        )
        search = (filter or CustomerFilter()).to_domain()
        session = await info.context.session()
        now = info.context.now()
        page = await customer_search.page(
            session, search, ordering, now=now, first=first, after=decode_cursor(after, ordering)
        )

        async def total() -> int:
            return await pagination.count(session, customer_search.query(search, now=now))

        return connection(page, Customer.of, total)

    @strawberry.field(permission_classes=allow("Query.customer"))
    async def customer(self, info: Info, id: int) -> Customer | None:
        row = await info.context.loaders.customer.load(id)
        return Customer.of(row) if row else None


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(permission_classes=allow("Mutation.updateCustomer"))
    async def update_customer(self, info: Info, id: int, input: UpdateCustomerInput) -> Customer:
        actor = await info.context.actor()
        today = business_date(info.context.now(), info.context.settings.zone)
        async with info.context.transaction() as session:
            changes = customers.ProfileChanges(
                phone=input.phone,
                birthday=input.birthday,
                note=input.note,
                clear_phone=input.clear_phone,
                clear_birthday=input.clear_birthday,
                clear_note=input.clear_note,
            )
            customer = await customers.update_profile(
                session, id, changes, actor=actor, today=today
            )
            if input.add_tags or input.remove_tags:
                customer = await customers.change_tags(
                    session, id, add=input.add_tags, remove=input.remove_tags, actor=actor
                )
        return Customer.of(customer)

    @strawberry.mutation(permission_classes=allow("Mutation.bulkTagCustomers"))
    async def bulk_tag_customers(
        self,
        info: Info,
        selection: CustomerSelection,
        add: list[str] | None = None,
        remove: list[str] | None = None,
    ) -> BulkResult:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            ids = await bulk.select_customers(
                session,
                customer_ids=selection.ids,
                segment_id=selection.segment_id,
                now=info.context.now(),
            )
            threshold = await shop_settings.get_int(session, "bulk_background_threshold")
            if len(ids) <= threshold:
                affected = await bulk.tag_customers(
                    session, ids, add=add or [], remove=remove or [], actor=actor
                )
                return BulkResult(affected=affected, job_id=None)
        job = await info.context.runtime.tasks.enqueue(
            "bulk_add_tags",
            customer_ids=ids,
            add=add or [],
            remove=remove or [],
            admin_id=actor.id,
        )
        return BulkResult(affected=len(ids), job_id=job)

    @strawberry.mutation(permission_classes=allow("Mutation.bulkIssueDiscount"))
    async def bulk_issue_discount(
        self,
        info: Info,
        selection: CustomerSelection,
        kind: DiscountKind,
        reason: str,
        percent: int | None = None,
        valid_days: int | None = None,
    ) -> BulkResult:
        actor = await info.context.actor()
        now = info.context.now()
        request = discounts.IssueRequest(
            kind, percent=percent, valid_days=valid_days, reason=reason
        )
        async with info.context.transaction() as session:
            ids = await bulk.select_customers(
                session, customer_ids=selection.ids, segment_id=selection.segment_id, now=now
            )
            threshold = await shop_settings.get_int(session, "bulk_background_threshold")
            if len(ids) <= threshold:
                affected = await bulk.issue_to_customers(
                    session, ids, request, actor=actor, now=now
                )
                return BulkResult(affected=affected, job_id=None)
        job = await info.context.runtime.tasks.enqueue(
            "bulk_issue_discount",
            customer_ids=ids,
            kind=kind.value,
            reason=reason,
            percent=percent,
            valid_days=valid_days,
            admin_id=actor.id,
        )
        return BulkResult(affected=len(ids), job_id=job)


ROOTS = {"query": CustomerQueries, "mutation": CustomerMutations}
