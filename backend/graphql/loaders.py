"""DataLoaders, built fresh for each request in one factory.

Each loader turns N lookups made while resolving one response into one
statement, so a page of 100 customers with tags and discounts costs the same
few statements as a page of 10.
"""

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from backend.domain import admins, broadcasts, cashiers, customers, discount_search, segments
from backend.domain.models import Admin, Broadcast, Cashier, Customer, Discount, Segment


class Sessions(Protocol):
    """What the loaders need of the request's context: a read session of their own."""

    async def session(self) -> AsyncSession: ...


V = TypeVar("V")


class _Row(Protocol):
    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=_Row)


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


def create_loaders(context: Sessions) -> Loaders:
    def by_id(
        read: Callable[[AsyncSession, Sequence[int]], Awaitable[list[R]]],
    ) -> DataLoader[int, R | None]:
        async def load(ids: Sequence[int]) -> list[R | None]:
            found = {row.id: row for row in await read(await context.session(), ids)}
            return [found.get(key) for key in ids]

        return DataLoader(load_fn=load)

    async def load_tags(ids: Sequence[int]) -> list[list[str]]:
        return _grouped(ids, await customers.tag_names(await context.session(), ids))

    async def load_discounts(ids: Sequence[int]) -> list[list[Discount]]:
        rows = await discount_search.of_customers(await context.session(), ids)
        return _grouped(ids, ((row.customer_id, row) for row in rows))

    async def load_stats(ids: Sequence[int]) -> list[broadcasts.BroadcastStats]:
        session = await context.session()
        found = await broadcasts.stats_many(session, ids)
        return [found[key] for key in ids]

    return Loaders(
        customer=by_id(customers.by_ids),
        customer_tags=DataLoader(load_fn=load_tags),
        customer_discounts=DataLoader(load_fn=load_discounts),
        cashier=by_id(cashiers.by_ids),
        admin=by_id(admins.by_ids),
        segment=by_id(segments.by_ids),
        broadcast=by_id(broadcasts.by_ids),
        broadcast_stats=DataLoader(load_fn=load_stats),
    )


def _grouped(keys: Sequence[int], pairs: Iterable[tuple[int, V]]) -> list[list[V]]:
    groups: dict[int, list[V]] = defaultdict(list)
    for key, value in pairs:
        groups[key].append(value)
    return [groups.get(key, []) for key in keys]
