"""Finding customers for the admin list: free text plus the segment rules.

The structured filters are exactly the segment rules, so "customers with tag
X born in May" in the list and in a segment can never disagree; search text
and the creation window are the only list-specific parts.

What the search text may match is the caller's to say (`search_in`): an admin
who may not see phones must not find customers by phone either, or a phone is
rebuilt digit by digit from which customers a search finds. Unless told
otherwise it matches what every admin sees, names and Telegram ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from sqlalchemy import ColumnElement, Select, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import pagination, segments
from backend.domain.dialects import fold, folded
from backend.domain.errors import ValidationFailed
from backend.domain.models import Customer
from backend.domain.pagination import Direction, Ordering

MAX_SEARCH_LENGTH = 100
ORDERINGS = {
    "id": Customer.id,
    "created_at": Customer.created_at,
    "last_seen_at": Customer.last_seen_at,
}


class SearchField(Enum):
    """What free-text search can match."""

    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    TELEGRAM_ID = "telegram_id"
    USERNAME = "username"
    PHONE = "phone"


EVERYONE_SEES = frozenset({SearchField.FIRST_NAME, SearchField.LAST_NAME, SearchField.TELEGRAM_ID})


@dataclass(frozen=True)
class CustomerFilter:
    search: str | None = None
    search_in: frozenset[SearchField] = EVERYONE_SEES
    rules: segments.SegmentRules = field(default_factory=segments.SegmentRules)
    created_from: datetime | None = None
    created_to: datetime | None = None


def query(
    customer_filter: CustomerFilter,
    *,
    now: datetime,
    per_row_tags: bool = False,
    tags: segments.RuleTags | None = None,
) -> Select[Customer]:
    return select(Customer).where(
        *segments.conditions(customer_filter.rules, now, per_row_tags=per_row_tags, tags=tags),
        *_list_conditions(customer_filter),
    )


def _list_conditions(customer_filter: CustomerFilter) -> list[ColumnElement[bool]]:
    """What the list filters on beyond the segment rules."""
    conditions = []
    if customer_filter.search and customer_filter.search.strip():
        conditions.append(_matches_text(customer_filter.search.strip(), customer_filter.search_in))
    if customer_filter.created_from is not None:
        conditions.append(Customer.created_at >= customer_filter.created_from)
    if customer_filter.created_to is not None:
        conditions.append(Customer.created_at < customer_filter.created_to)
    return conditions


def _matches_text(text: str, fields: frozenset[SearchField]) -> ColumnElement[bool]:
    """Any of `fields` containing the text; a number also finds a Telegram id.

    A leading "@" is how people write a username, so it is not looked for in one.
    Names match in any case and with ё as е, on every database (docs/text-folding.md).
    """
    if len(text) > MAX_SEARCH_LENGTH:
        raise ValidationFailed(f"search is limited to {MAX_SEARCH_LENGTH} characters")
    pattern = f"%{_escaped(text)}%"
    folded_pattern = fold(pattern)
    options: list[ColumnElement[bool]] = []
    if SearchField.FIRST_NAME in fields:
        options.append(folded(Customer.first_name).like(folded_pattern, escape="\\"))
    if SearchField.LAST_NAME in fields:
        options.append(folded(Customer.last_name).like(folded_pattern, escape="\\"))
    if SearchField.USERNAME in fields and (name := text.removeprefix("@")):
        options.append(folded(Customer.username).like(fold(f"%{_escaped(name)}%"), escape="\\"))
    if SearchField.PHONE in fields:
        options.append(Customer.phone.like(pattern, escape="\\"))
    if SearchField.TELEGRAM_ID in fields and text.isdigit() and len(text) <= 18:
        options.append(Customer.telegram_id == int(text))
    return or_(*options) if options else false()


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def ordering(name: str, direction: Direction) -> Ordering:
    if name not in ORDERINGS:
        raise ValidationFailed(f"cannot order customers by {name!r}", field="order")
    return Ordering(ORDERINGS[name], Customer.id, direction)


async def page(
    session: AsyncSession,
    customer_filter: CustomerFilter,
    order: Ordering,
    *,
    now: datetime,
    first: int,
    after: pagination.Key | None,
) -> pagination.Page[Customer]:
    """One page; its keys are found in the indexes first, the full rows read only for it."""
    tags, per_row = await segments.listing_tags(session, customer_filter.rules)
    return await pagination.keyset_page(
        session,
        query(customer_filter, now=now, per_row_tags=per_row, tags=tags),
        order,
        first=first,
        after=after,
        keys_first=True,
    )


async def count(session: AsyncSession, customer_filter: CustomerFilter, *, now: datetime) -> int:
    """How many customers match, across pages (counted as a segment is)."""
    tags = await segments.look_up_tags(session, customer_filter.rules)
    counted = segments.count_query(
        customer_filter.rules, now, *_list_conditions(customer_filter), tags=tags
    )
    return int(await session.scalar(counted) or 0)
