"""Who is in a segment, asked of the whole base: the rules as SQL.

`members_query` answers "who" in one statement (EXISTS subqueries, so the
indexes carry it at a million customers); `count_query` counts them, and
`conditions` are the WHERE clauses customer search reuses. The same rules in
Python are `matching`; the property test keeps the two in agreement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.dialects import fold, folded
from backend.domain.errors import ValidationFailed
from backend.domain.models import Customer, Discount, DiscountStatus, Tag, customer_tags
from backend.domain.segments.rules import SegmentRules

MAX_PAGE_SIZE = 1000


def members_query(rules: SegmentRules, *, now: datetime) -> Select[int]:
    """Ids of the segment's members; add ORDER BY / LIMIT as needed."""
    return select(Customer.id).where(*conditions(rules, now))


async def count_members(session: AsyncSession, rules: SegmentRules, *, now: datetime) -> int:
    tags = await look_up_tags(session, rules)
    return int(await session.scalar(count_query(rules, now, tags=tags)) or 0)


def count_query(
    rules: SegmentRules,
    now: datetime,
    *also: ColumnElement[bool],
    tags: RuleTags | None = None,
) -> Select[int]:
    """How many customers these rules (and `also`) hold for: one COUNT over `customers`.

    Never a COUNT around the list's query: as a derived table MariaDB checked
    the tags of every customer of the status, 850,000 at a million. Tags are
    best named by id (`look_up_tags`). From a tag's members MariaDB looks each
    member up by primary key, which reads the member's row, and at a million
    customers most rows are not in the buffer pool. With required tags the
    primary key is kept out of the join (MySQL syntax, compiled for MySQL/MariaDB
    only: SQLite and PostgreSQL never see it), so a member is looked up in a
    small index instead: `(id, status)`, or one whose leading columns the
    rules fix, such as `(source)` for one source.
    """
    query = select(func.count(Customer.id)).where(*conditions(rules, now, tags=tags), *also)
    if rules.tags_any or rules.tags_all:
        query = query.with_hint(Customer, "IGNORE INDEX FOR JOIN (PRIMARY)", "mysql")
    return query


async def page_members(
    session: AsyncSession,
    rules: SegmentRules,
    *,
    now: datetime,
    after_id: int | None = None,
    limit: int = 100,
) -> list[Customer]:
    """Members with id > after_id, by id: pass the last id back for the next page."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"limit must be 1 to {MAX_PAGE_SIZE}", field="limit")
    tags, per_row = await listing_tags(session, rules)
    query = select(Customer).where(*conditions(rules, now, per_row_tags=per_row, tags=tags))
    if after_id is not None:
        query = query.where(Customer.id > after_id)
    result = await session.scalars(query.order_by(Customer.id).limit(limit))
    return list(result)


# Members from which a tag counts as common (see `RuleTags.are_common`). For the newest
# 50 of a million, walking the list's index past ~10,000 customers (index entries and a
# tag lookup each) beats reading 5,000 members' rows at random and sorting them.
COMMON_TAG = 5_000


@dataclass(frozen=True)
class RuleTags:
    """The tags the rules name, as the database has them: ids, and which are common.

    Keys are the names as the rules give them; a tag nobody has yet is absent.
    """

    ids: Mapping[str, int]
    common: frozenset[str] = frozenset()

    def ids_of(self, names: Iterable[str]) -> list[int]:
        return sorted({self.ids[name] for name in names if name in self.ids})

    def are_common(self, rules: SegmentRules) -> bool:
        """Whether the required tags are common: one of `tags_any`, and each of `tags_all`.

        Then the first customers in some order are found fastest by walking an
        index in that order and checking tags row by row (`per_row_tags`): a
        page needs about page size × base / members rows. A rarer tag is found
        fastest from its members.
        """
        groups = [list(rules.tags_any)] if rules.tags_any else []
        groups += [[name] for name in rules.tags_all or ()]
        return bool(groups) and all(self.common.intersection(names) for names in groups)


async def look_up_tags(
    session: AsyncSession, rules: SegmentRules, *, probe: bool = False
) -> RuleTags | None:
    """The rules' tags in one statement (None when no rule names a tag).

    Statements that name tags by id check a customer's tags with one lookup in
    `customer_tags`' primary key; named through a join to `tags`, MariaDB first
    materializes every member of the tags, for two common tags at a million
    customers half the base. Each name is matched by the database, in its
    folded (`_tag_named`), as tags are everywhere else.

    `probe` also asks which tags are common: whether a tag's `COMMON_TAG`-th
    member exists, read from the (tag, customer) index, so at most that many
    entries per tag, in the same statement.
    """
    names = list(
        dict.fromkeys([*(rules.tags_any or ()), *(rules.tags_all or ()), *(rules.tags_none or ())])
    )
    if not names:
        return None
    common: ColumnElement[Any] = literal(False)
    if probe:
        nth_member = (
            select(customer_tags.c.customer_id)
            .where(customer_tags.c.tag_id == Tag.id)
            .order_by(customer_tags.c.customer_id)
            .limit(1)
            .offset(COMMON_TAG - 1)
            .scalar_subquery()
        )
        common = nth_member.is_not(None)
    matches = [
        select(literal(number), Tag.id, common).where(_tag_named([name]))
        for number, name in enumerate(names)
    ]
    rows = (await session.execute(union_all(*matches) if len(matches) > 1 else matches[0])).all()
    return RuleTags(
        ids={names[number]: tag_id for number, tag_id, _ in rows},
        common=frozenset(names[number] for number, _, is_common in rows if is_common),
    )


async def listing_tags(session: AsyncSession, rules: SegmentRules) -> tuple[RuleTags | None, bool]:
    """The rules' tags for a list in some order, and whether to check them row by row."""
    tags = await look_up_tags(session, rules, probe=True)
    return tags, tags is not None and tags.are_common(rules)


async def tags_are_common(session: AsyncSession, rules: SegmentRules) -> bool:
    """Whether the list and the preview check these rules' tags row by row (`RuleTags`)."""
    return (await listing_tags(session, rules))[1]


def conditions(
    rules: SegmentRules,
    now: datetime,
    *,
    per_row_tags: bool = False,
    tags: RuleTags | None = None,
) -> list[ColumnElement[bool]]:
    """The WHERE clauses on `Customer` for these rules (customer search reuses them).

    `per_row_tags` words the required tags so the database checks them customer
    by customer instead of starting from the tags' members (see `_has_tag`).
    `tags` (from `look_up_tags`) names the tags by id instead of by name.
    """
    return [
        *_tag_conditions(rules, per_row_tags, tags),
        *_profile_conditions(rules),
        *_time_conditions(rules),
        *_discount_conditions(rules, now),
    ]


def _tag_named(names: Iterable[str]) -> ColumnElement[bool]:
    """The tag is one of `names`, in any case and with ё as е (docs/text-folding.md)."""
    return folded(Tag.name).in_([fold(name) for name in names])


def _has_tag(names: Iterable[str], tags: RuleTags | None = None) -> ColumnElement[bool]:
    if tags is None:
        return (
            select(customer_tags.c.customer_id)
            .join(Tag, Tag.id == customer_tags.c.tag_id)
            .where(customer_tags.c.customer_id == Customer.id, _tag_named(names))
            .exists()
        )
    ids = tags.ids_of(names)
    if not ids:
        return false()
    return (
        select(customer_tags.c.customer_id)
        .where(customer_tags.c.customer_id == Customer.id, customer_tags.c.tag_id.in_(ids))
        .exists()
    )


def _has_tag_per_row(names: Iterable[str], tags: RuleTags | None = None) -> ColumnElement[bool]:
    """Like `_has_tag`, but never turned into a semi-join.

    MariaDB flattens EXISTS into a join that starts from the tag's members and
    sorts them: right for a count, slow for "the newest 50" when the tag has
    tens of thousands of members. A scalar subquery is checked row by row while
    an index is walked in the list's order, which stops at the end of the page.
    """
    wanted: Any
    if tags is None:
        wanted = select(Tag.id).where(_tag_named(names)).scalar_subquery()
    else:
        wanted = tags.ids_of(names)
        if not wanted:
            return false()
    return (
        select(func.count())
        .select_from(customer_tags)
        .where(customer_tags.c.customer_id == Customer.id, customer_tags.c.tag_id.in_(wanted))
        .scalar_subquery()
        > 0
    )


def _tag_conditions(
    rules: SegmentRules, per_row: bool = False, tags: RuleTags | None = None
) -> list[ColumnElement[bool]]:
    has_tag = _has_tag_per_row if per_row else _has_tag
    conditions: list[ColumnElement[bool]] = []
    if rules.tags_any:
        conditions.append(has_tag(rules.tags_any, tags))
    if rules.tags_all:
        conditions.append(and_(*(has_tag([name], tags) for name in rules.tags_all)))
    if rules.tags_none:
        conditions.append(~_has_tag(rules.tags_none, tags))
    return conditions


def _profile_conditions(rules: SegmentRules) -> list[ColumnElement[bool]]:
    """Like every comparison below, a NULL column never matches: no birthday, no month."""
    conditions: list[ColumnElement[bool]] = []
    if rules.status is not None:
        conditions.append(Customer.status.in_(rules.status))
    if rules.birthday_month is not None:
        conditions.append(Customer.birth_month == rules.birthday_month)
    if rules.source is not None:
        conditions.append(Customer.source.in_(rules.source))
    return conditions


def _time_conditions(rules: SegmentRules) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if rules.subscribed_from is not None:
        conditions.append(Customer.subscribed_at >= rules.subscribed_from)
    if rules.subscribed_to is not None:
        conditions.append(Customer.subscribed_at < rules.subscribed_to)
    if rules.last_seen_after is not None:
        conditions.append(Customer.last_seen_at >= rules.last_seen_after)
    if rules.last_seen_before is not None:
        conditions.append(Customer.last_seen_at < rules.last_seen_before)
    return conditions


def _discount_conditions(rules: SegmentRules, now: datetime) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if rules.has_active_discount is not None:
        active = (
            select(Discount.id)
            .where(
                Discount.customer_id == Customer.id,
                Discount.status == DiscountStatus.ACTIVE,
                Discount.expires_at > now,
            )
            .exists()
        )
        conditions.append(active if rules.has_active_discount else ~active)
    if rules.redeemed_count_at_least:  # 0 holds for everyone
        redeemed = (
            select(func.count(Discount.id))
            .where(Discount.customer_id == Customer.id, Discount.status == DiscountStatus.REDEEMED)
            .scalar_subquery()
        )
        conditions.append(redeemed >= rules.redeemed_count_at_least)
    return conditions
