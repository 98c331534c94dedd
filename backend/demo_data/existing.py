"""What the database holds before the demo: customers (then no demo), ids to continue, settings.

The generators read it once; the planner never does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import shop_settings
from backend.domain.errors import Conflict
from backend.domain.models import Base, DiscountKind


def table_named(name: str) -> Table:
    """The Core table the models declare under `name` (rows go in as plain dicts)."""
    return Base.metadata.tables[name]


async def has_data(session: AsyncSession) -> bool:
    """Whether any customer exists (demo data only goes into an empty database)."""
    return await session.scalar(select(func.min(table_named("customers").c.id))) is not None


async def empty_shop(session: AsyncSession) -> tuple[Existing, ShopSettings]:
    """What a fresh shop already holds (templates, settings); Conflict if it has customers."""
    if await has_data(session):
        raise Conflict("the database already has customers; demo data goes into an empty database")
    existing = await Existing.read(session)
    return existing, ShopSettings.from_values(await shop_settings.get_all(session))


@dataclass(frozen=True)
class Existing:
    """Rows that may predate the demo (cashiers, segments, tags...): ids continue after them."""

    next_ids: dict[str, int]
    tag_ids: dict[str, int]
    segment_names: frozenset[str]
    cashier_telegram_ids: frozenset[int]

    @classmethod
    async def read(cls, session: AsyncSession) -> Existing:
        next_ids: dict[str, int] = {}
        for name in ("customers", "tags", "cashiers", "segments", "broadcasts",
                     "broadcast_deliveries", "discounts"):  # fmt: skip
            largest = await session.scalar(select(func.max(table_named(name).c.id)))
            next_ids[name] = (largest or 0) + 1
        tags = table_named("tags")
        tag_ids = {name: id_ for id_, name in await session.execute(select(tags.c.id, tags.c.name))}
        names = await session.scalars(select(table_named("segments").c.name))
        telegram_ids = await session.scalars(select(table_named("cashiers").c.telegram_id))
        return cls(
            next_ids=next_ids,
            tag_ids=tag_ids,
            segment_names=frozenset(name.casefold() for name in names),
            cashier_telegram_ids=frozenset(id_ for id_ in telegram_ids if id_ is not None),
        )


@dataclass(frozen=True)
class ShopSettings:
    """The shop settings the plan follows: percents, validity, birthday lead, send rate."""

    percent: dict[DiscountKind, int]
    valid_days: dict[DiscountKind, int]
    birthday_days_before: int
    send_rate: int

    @classmethod
    def from_values(cls, values: dict[str, int | bool | str]) -> ShopSettings:
        def number(key: str) -> int:
            value = values[key]
            assert isinstance(value, int)
            return value

        return cls(
            percent={kind: number(f"discount_percent_{kind.value}") for kind in DiscountKind},
            valid_days={kind: number(f"discount_valid_days_{kind.value}") for kind in DiscountKind},
            birthday_days_before=number("birthday_days_before"),
            send_rate=number("broadcast_send_rate_per_second"),
        )
