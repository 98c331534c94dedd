"""Customers in the admin API: list, card, edit, bulk actions."""

import asyncio
import datetime as dt
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from backend.domain import (
    bulk,
    customer_search,
    customers,
    discounts,
    jobs,
    pagination,
    segments,
    shop_settings,
)
from backend.domain import models as m
from backend.domain.clock import business_date
from backend.domain.tasks import enqueue_after_commit
from backend.graphql.mapping import copied
from backend.graphql.pagination import Connection, SortDirection, connection, decode_cursor
from backend.graphql.permissions import allow, hidden_unless, searchable_fields
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
        graphql_type=list[Annotated["Discount", strawberry.lazy("backend.graphql.discounts")]],
    )
    def discounts(self, info: Info) -> list["Discount"] | Awaitable[list["Discount"]]:
        if self.preloaded_discounts is not None:
            return _discounts(self.preloaded_discounts)
        return self._load_discounts(info)

    async def _load_discounts(self, info: Info) -> list["Discount"]:
        return _discounts(await info.context.loaders.customer_discounts.load(self.id))

    @classmethod
    def of(cls, row: m.Customer, **preloaded: Any) -> "Customer":
        return copied(cls, row, telegram_id=str(row.telegram_id), model=row, **preloaded)


def _discounts(rows: list[m.Discount]) -> list["Discount"]:
    from backend.graphql.discounts import Discount

    return [Discount.of(row) for row in rows]


@dataclass(frozen=True)
class _PageExtras:
    """Tags and discounts of a whole page, loaded before its customers are resolved.

    Through the DataLoaders every customer's `tags` and `discounts` is awaited
    on its own, and a customer with a field to await is completed by GraphQL
    as a task of its own: for 50 customers that is most of what GraphQL adds
    to the page beyond its fields. Loaded first (the DataLoaders' statements,
    one each, at the same time), they resolve as plain values. Only what the
    query asks of the page's nodes is loaded; a field the walk does not see
    still gets its DataLoader.
    """

    tags: dict[int, list[str]] | None = None
    discounts: dict[int, list[m.Discount]] | None = None

    @classmethod
    async def load(cls, info: Info, ids: list[int]) -> "_PageExtras":
        asked = _fields_at(info.selected_fields, ("customers", "edges", "node"))
        loaders = info.context.loaders

        async def by_id(name: str, loader: Any) -> dict[int, Any] | None:
            if not ids or name not in asked:
                return None
            return dict(zip(ids, await loader.load_many(ids), strict=True))

        tags, discounts = await asyncio.gather(
            by_id("tags", loaders.customer_tags), by_id("discounts", loaders.customer_discounts)
        )
        return cls(tags, discounts)

    def customer(self, row: m.Customer) -> Customer:
        return Customer.of(
            row,
            preloaded_tags=None if self.tags is None else self.tags[row.id],
            preloaded_discounts=None if self.discounts is None else self.discounts[row.id],
        )


def _fields_at(selections: Sequence[Any], path: tuple[str, ...]) -> set[str]:
    """Names of the fields asked at `path` below these selections (fragments looked into)."""
    names: set[str] = set()
    for selection in selections:
        if not isinstance(selection, SelectedField):  # a fragment's fields are on this level
            names |= _fields_at(selection.selections, path)
        elif not path:
            names.add(selection.name)
        elif selection.name == path[0]:
            names |= _fields_at(selection.selections, path[1:])
    return names


@strawberry.enum
class CustomerOrderField(Enum):
    ID = "id"
    CREATED_AT = "created_at"
    LAST_SEEN_AT = "last_seen_at"


@strawberry.input
class CustomerOrder:
    field: CustomerOrderField = CustomerOrderField.CREATED_AT
    direction: SortDirection = SortDirection.DESC


SEARCH = "Query.customers(filter).search"
# What the search box matches, by the field each part is shown as (permissions.py
# decides which of them a role may match: the ones it sees).
SEARCHED_AS = {
    "Customer.firstName": customer_search.SearchField.FIRST_NAME,
    "Customer.lastName": customer_search.SearchField.LAST_NAME,
    "Customer.telegramId": customer_search.SearchField.TELEGRAM_ID,
    "Customer.username": customer_search.SearchField.USERNAME,
    "Customer.phone": customer_search.SearchField.PHONE,
}


@strawberry.input(description="All conditions must hold; omitted ones do not filter.")
class CustomerFilter:
    search: str | None = strawberry.field(
        default=None,
        description="Part of a name, or a Telegram id; also part of a username (with or "
        "without @) or phone for roles that see them (readonly does not: its search "
        "matches names and Telegram ids only).",
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

    def to_domain(self, role: m.AdminRole) -> customer_search.CustomerFilter:
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
            search_in=frozenset(SEARCHED_AS[field] for field in searchable_fields(role, SEARCH)),
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
        admin = await info.context.require_admin()
        search = (filter or CustomerFilter()).to_domain(admin.role)
        session = await info.context.session()
        now = info.context.now()
        page = await customer_search.page(
            session, search, ordering, now=now, first=first, after=decode_cursor(after, ordering)
        )

        async def total() -> int:
            return await customer_search.count(session, search, now=now)

        extras = await _PageExtras.load(info, [row.id for row in page.rows])
        return connection(page, extras.customer, total)

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
            job = await jobs.create(
                session, "bulk_add_tags", len(ids), admin_id=actor.id, now=info.context.now()
            )
            enqueue_after_commit(
                session,
                "bulk_add_tags",
                customer_ids=ids,
                add=add or [],
                remove=remove or [],
                admin_id=actor.id,
                job_id=job.key,
            )
        return BulkResult(affected=len(ids), job_id=job.key)

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
            inline = len(ids) <= threshold
            if inline:
                affected = await bulk.issue_to_customers(
                    session, ids, request, actor=actor, now=now
                )
                # Once committed, the notices go at once, at the broadcasts' shared rate.
                enqueue_after_commit(session, "deliver_due_notifications")
            else:
                job = await jobs.create(
                    session, "bulk_issue_discount", len(ids), admin_id=actor.id, now=now
                )
                enqueue_after_commit(
                    session,
                    "bulk_issue_discount",
                    customer_ids=ids,
                    kind=kind.value,
                    reason=reason,
                    percent=percent,
                    valid_days=valid_days,
                    admin_id=actor.id,
                    job_id=job.key,
                )
        if inline:
            return BulkResult(affected=affected, job_id=None)
        return BulkResult(affected=len(ids), job_id=job.key)


ROOTS = {"query": CustomerQueries, "mutation": CustomerMutations}
