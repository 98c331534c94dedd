"""DataLoaders, built fresh for each request in one factory.

Each loader turns N lookups made while resolving one response into one
statement, so a page of 100 customers with tags and discounts costs the same
few statements as a page of 10.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from backend.domain import broadcasts
from backend.domain.models import (
    Admin,
    Broadcast,
    Cashier,
    Customer,
    Discount,
    Segment,
    Tag,
    customer_tags,
)

if TYPE_CHECKING:
    from backend.graphql.context import Context

V = TypeVar("V")


@dataclass(frozen=True)
class Loaders:
    customer: DataLoader[int, Customer | None]
    customer_tags: DataLoader[int, list[str]]
    customer_discounts: DataLoader[int, list[Discount]]
    cashier: DataLoader[int, Cashier | None]
    admin: DataLoader[int, Admin | None]
    segment: DataLoader[int, Segment | None]
    broadcast: DataLoader[int, Broadcast | None]
    broadcast_stats: DataLoader[int, broadcasts.BroadcastStats]


def create_loaders(context: "Context") -> Loaders:
    def by_id(model: Any) -> DataLoader[int, Any]:
        async def load(ids: Sequence[int]) -> list[Any]:
            session = await context.session()
            rows = await session.scalars(select(model).where(model.id.in_(ids)))
            found = {row.id: row for row in rows}
            return [found.get(key) for key in ids]

        return DataLoader(load_fn=load)

    async def load_tags(ids: Sequence[int]) -> list[list[str]]:
        session = await context.session()
        rows = await session.execute(
            select(customer_tags.c.customer_id, Tag.name)
            .join(Tag, Tag.id == customer_tags.c.tag_id)
            .where(customer_tags.c.customer_id.in_(ids))
            .order_by(Tag.name)
        )
        return _grouped(ids, ((customer_id, name) for customer_id, name in rows))

    async def load_discounts(ids: Sequence[int]) -> list[list[Discount]]:
        session = await context.session()
        rows = await session.scalars(
            select(Discount)
            .where(Discount.customer_id.in_(ids))
            .order_by(Discount.issued_at.desc(), Discount.id.desc())
        )
        return _grouped(ids, ((row.customer_id, row) for row in rows))

    async def load_stats(ids: Sequence[int]) -> list[broadcasts.BroadcastStats]:
        session = await context.session()
        found = await broadcasts.stats_many(session, ids)
        return [found[key] for key in ids]

    return Loaders(
        customer=by_id(Customer),
        customer_tags=DataLoader(load_fn=load_tags),
        customer_discounts=DataLoader(load_fn=load_discounts),
        cashier=by_id(Cashier),
        admin=by_id(Admin),
        segment=by_id(Segment),
        broadcast=by_id(Broadcast),
        broadcast_stats=DataLoader(load_fn=load_stats),
    )


def _grouped(keys: Sequence[int], pairs: Iterable[tuple[int, V]]) -> list[list[V]]:
    groups: dict[int, list[V]] = defaultdict(list)
    for key, value in pairs:
        groups[key].append(value)
    return [groups.get(key, []) for key in keys]
