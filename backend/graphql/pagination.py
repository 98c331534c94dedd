"""Relay-style connections over the domain's keyset pages.

A cursor is base64 of JSON `[list and order, sort value, id]`: opaque to
clients, stable, and checked on the way back in (a tampered cursor, or one
from another list or ordering, is BAD_CURSOR, never SQL or a wrong page).
"""

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import Enum
from typing import Any, Generic, TypeVar

import strawberry

from backend.domain import pagination
from backend.domain.clock import in_supported_years
from backend.domain.errors import BadCursor
from backend.domain.models.types import UTCDateTime

T = TypeVar("T")
N = TypeVar("N")


@strawberry.enum
class SortDirection(Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    counter: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="All rows matching the filter, across pages.")
    async def total_count(self) -> int:
        return await self.counter()


def encode_cursor(key: pagination.Key, ordering: pagination.Ordering) -> str:
    value, row_id = key
    raw = value.isoformat() if isinstance(value, datetime) else value
    payload = json.dumps([ordering.tag, raw, row_id])
    return base64.urlsafe_b64encode(payload.encode()).decode()


def decode_cursor(cursor: str | None, ordering: pagination.Ordering) -> pagination.Key | None:
    if cursor is None:
        return None
    try:
        tag, value, row_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise BadCursor("malformed cursor") from None
    if tag != ordering.tag:
        raise BadCursor("this cursor belongs to another list or ordering")
    if not _storable_int(row_id):
        raise BadCursor("malformed cursor")
    if ordering.column is ordering.id_column:
        return (row_id, row_id)
    if isinstance(ordering.column.type, UTCDateTime):
        try:
            moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            moment = None
        if moment is None or moment.utcoffset() is None or not in_supported_years(moment):
            raise BadCursor("cursor does not fit this ordering")
        return (moment, row_id)
    if not (isinstance(value, str) or _storable_int(value)):
        raise BadCursor("cursor does not fit this ordering")
    return (value, row_id)


def _storable_int(value: object) -> bool:
    """An int both databases take as a parameter (a bigger one is OverflowError, not a row)."""
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def connection(
    page: pagination.Page[Any],
    convert: Callable[[Any], N],
    counter: Callable[[], Awaitable[int]],
) -> Connection[N]:
    edges = [
        Edge(cursor=encode_cursor(key, page.ordering), node=convert(row))
        for row, key in zip(page.rows, page.keys, strict=True)
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        counter=counter,
    )
