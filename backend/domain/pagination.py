"""Keyset pagination: stable pages at any depth, cheap at a million rows.

A page continues after the last row's (sort value, id), never with OFFSET,
so page 5,000 costs what page 1 costs and rows inserted meanwhile do not
shift what the reader sees. Transports turn `Key` into an opaque cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from backend.domain.errors import BadCursor, ValidationFailed

MAX_PAGE_SIZE = 200
T = TypeVar("T")

KeyValue = int | str | datetime | None
Key = tuple[KeyValue, int]


class Direction(StrEnum):
    ASC = "asc"
    DESC = "desc"


@dataclass(frozen=True)
class Ordering:
    column: InstrumentedAttribute[Any]
    id_column: InstrumentedAttribute[int]
    direction: Direction = Direction.DESC

    @property
    def tag(self) -> str:
        """Names the list and its order, so a cursor from another list is refused."""
        table = self.id_column.class_.__tablename__
        return f"{table}.{self.column.key}.{self.direction.value}"


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    keys: list[Key]
    has_next: bool
    has_previous: bool
    ordering: Ordering


def check_page_size(first: int) -> int:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"page size must be between 1 and {MAX_PAGE_SIZE}", field="first")
    return first


def key_of(row: Any, ordering: Ordering) -> Key:
    return getattr(row, ordering.column.key), int(getattr(row, ordering.id_column.key))


async def keyset_page(
    session: AsyncSession,
    query: Select[Any],
    ordering: Ordering,
    *,
    first: int,
    after: Key | None = None,
    keys_first: bool = False,
) -> Page[Any]:
    """Up to `first` rows of `query` after `after`, in `ordering` (ties broken by id).

    `keys_first` picks the page's ids in a subquery and reads whole rows only
    for them: when the filter and the order are answered from an index, the
    rows walked past (a thousand for a 3% tag at 1M) are never read from the
    table, which at a million rows mostly is not in the buffer pool.
    """
    check_page_size(first)
    column, id_column = ordering.column, ordering.id_column
    if after is not None:
        query = query.where(_after(ordering, after))
    if ordering.direction is Direction.DESC:
        order = (column.desc(), id_column.desc())
    else:
        order = (column.asc(), id_column.asc())
    query = query.order_by(*order).limit(first + 1)
    if keys_first:
        keys = query.with_only_columns(id_column).subquery()
        query = (
            select(id_column.class_).join(keys, keys.c[id_column.key] == id_column).order_by(*order)
        )
    rows = list((await session.scalars(query)).unique())
    page = rows[:first]
    return Page(
        rows=page,
        keys=[key_of(row, ordering) for row in page],
        has_next=len(rows) > first,
        has_previous=after is not None,
        ordering=ordering,
    )


def _after(ordering: Ordering, after: Key) -> Any:
    value, last_id = after
    column, id_column = ordering.column, ordering.id_column
    if column is id_column:
        return id_column < last_id if ordering.direction is Direction.DESC else id_column > last_id
    if value is None:
        raise BadCursor("cursor does not fit this ordering")
    if ordering.direction is Direction.DESC:
        return or_(column < value, and_(column == value, id_column < last_id))
    return or_(column > value, and_(column == value, id_column > last_id))


async def count(session: AsyncSession, query: Select[Any]) -> int:
    """How many rows `query` would return (its ORDER BY and LIMIT ignored)."""
    counted = select(func.count()).select_from(query.order_by(None).limit(None).subquery())
    return int(await session.scalar(counted) or 0)
