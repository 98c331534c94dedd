"""The customers' list and card in the admin API: search, filters, order, one page's extras."""

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from backend.domain import customer_search, pagination, segments
from backend.domain import models as m
from backend.graphql.customers.types import Customer
from backend.graphql.pagination import Connection, SortDirection, connection, decode_cursor
from backend.graphql.permissions import allow, searchable_fields
from backend.graphql.scalars import CustomerStatus, require_aware, to_domain


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
        if self.status is not None:
            raw["status"] = [to_domain(m.CustomerStatus, status) for status in self.status]
        return customer_search.CustomerFilter(
            search=self.search,
            search_in=frozenset(SEARCHED_AS[field] for field in searchable_fields(role, SEARCH)),
            rules=segments.parse_rules(raw),
            created_from=require_aware(self.created_from, "createdFrom"),
            created_to=require_aware(self.created_to, "createdTo"),
        )


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
