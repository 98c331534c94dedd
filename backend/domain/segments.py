"""Segments: named audiences a marketer defines once and targets broadcasts at.

Rules are stored as JSON so marketers can add criteria without migrations, which
also means anything can end up in that column. Every rule set therefore goes
through `SegmentRules` before it is stored or used: a typo or a naive time must
be a clear `InvalidSegmentRules`, never a SQL error or a silently empty (or
silently everyone) audience behind a broadcast.

The same rules exist twice on purpose: `members_query` answers "who" for the
whole base in one SQL statement (EXISTS subqueries, so the indexes carry it at a
million customers), `matches` answers "is this one customer in" in plain Python.
The property test keeps the two in agreement.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import ErrorDetails
from sqlalchemy import ColumnElement, Select, and_, false, func, literal, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import audit
from backend.domain.audit import Actor
from backend.domain.clock import SUPPORTED_YEARS, in_supported_years
from backend.domain.customers import clean_tag
from backend.domain.errors import Conflict, InvalidSegmentRules, NotFound, ValidationFailed
from backend.domain.models import (
    Broadcast,
    BroadcastStatus,
    Customer,
    CustomerStatus,
    Discount,
    DiscountStatus,
    Segment,
    Tag,
    customer_tags,
)

MAX_LIST_ITEMS = 50
MAX_NAME_LENGTH = 128
MAX_SOURCE_LENGTH = 64
MAX_PAGE_SIZE = 1000


def _tag(raw: str) -> str:
    try:
        return clean_tag(raw)
    except ValidationFailed as error:
        raise ValueError(error.message) from None


def _source(raw: str) -> str:
    value = raw.strip()
    if not 1 <= len(value) <= MAX_SOURCE_LENGTH:
        raise ValueError(f"a source must be 1 to {MAX_SOURCE_LENGTH} characters")
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must include a time zone, e.g. 2025-03-01T00:00:00+10:00")
    if not in_supported_years(value):
        first, last = SUPPORTED_YEARS.start, SUPPORTED_YEARS.stop - 1
        raise ValueError(f"must be between the years {first} and {last}")
    return value


def _listing(values: tuple[Any, ...]) -> tuple[Any, ...]:
    unique = tuple(dict.fromkeys(values))
    if not unique:
        raise ValueError("must list at least one value; leave the rule out to not filter on it")
    if len(unique) > MAX_LIST_ITEMS:
        raise ValueError(f"must list at most {MAX_LIST_ITEMS} values")
    return unique


TagList = Annotated[tuple[Annotated[str, AfterValidator(_tag)], ...], AfterValidator(_listing)]
SourceList = Annotated[
    tuple[Annotated[str, AfterValidator(_source)], ...], AfterValidator(_listing)
]
StatusList = Annotated[tuple[CustomerStatus, ...], AfterValidator(_listing)]
AwareDateTime = Annotated[datetime, AfterValidator(_aware)]


class SegmentRules(BaseModel):
    """Who is in a segment; every rule is optional and all given rules must hold.

    Field order matters: a cross-field check sits on the later field of a pair,
    so the error names the field the marketer most likely got wrong.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tags_any: TagList | None = None
    tags_all: TagList | None = None
    tags_none: TagList | None = None
    status: StatusList | None = None
    subscribed_from: AwareDateTime | None = None
    subscribed_to: AwareDateTime | None = None
    birthday_month: Annotated[StrictInt, Field(ge=1, le=12)] | None = None
    has_active_discount: StrictBool | None = None
    redeemed_count_at_least: Annotated[StrictInt, Field(ge=0, le=1_000_000)] | None = None
    last_seen_after: AwareDateTime | None = None
    last_seen_before: AwareDateTime | None = None
    source: SourceList | None = None

    @field_validator("tags_none")
    @classmethod
    def _not_required_and_excluded(
        cls, value: tuple[str, ...] | None, info: ValidationInfo
    ) -> tuple[str, ...] | None:
        required = [*(info.data.get("tags_any") or ()), *(info.data.get("tags_all") or ())]
        clash = sorted(set(required).intersection(value or ()))
        if clash:
            raise ValueError(f"tags both required and excluded: {', '.join(clash)}")
        return value

    @field_validator("subscribed_to")
    @classmethod
    def _subscribed_range(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        _check_range(info.data.get("subscribed_from"), value, "subscribed_from")
        return value

    @field_validator("last_seen_before")
    @classmethod
    def _last_seen_range(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        _check_range(info.data.get("last_seen_after"), value, "last_seen_after")
        return value


def _check_range(start: datetime | None, end: datetime | None, start_name: str) -> None:
    if start is not None and end is not None and start >= end:
        raise ValueError(f"must be later than {start_name}, or nobody can match")


def parse_rules(data: object) -> SegmentRules:
    """Validated rules from JSON-like data; one clear `InvalidSegmentRules` otherwise."""
    try:
        return SegmentRules.model_validate(data)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        field, message = _explain(first)
        raise InvalidSegmentRules(message, field=field) from None


def _explain(error: ErrorDetails) -> tuple[str | None, str]:
    field = str(error["loc"][0]) if error["loc"] else None
    if error["type"] == "extra_forbidden":
        return field, f"unknown rule {field!r}"
    if field is None:
        return None, "rules must be a JSON object"
    if error["type"] == "value_error":
        reason = str((error.get("ctx") or {})["error"])
    elif error["type"] == "tuple_type":
        reason = "Input should be a list"
    else:
        reason = error["msg"]
    return field, f"{field}: {reason}"


# --- Who is in: SQL over the whole base --------------------------------------------------


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
    primary key is kept out of the join (MySQL syntax; other databases ignore
    it), so a member is looked up in a small index instead: `(id, status)`, or
    one whose leading columns the rules fix, such as `(source)` for one source.
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
    collation, as `Tag.name == name` is everywhere else.

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
        select(literal(number), Tag.id, common).where(Tag.name == name)
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


def _has_tag(names: Iterable[str], tags: RuleTags | None = None) -> ColumnElement[bool]:
    if tags is None:
        return (
            select(customer_tags.c.customer_id)
            .join(Tag, Tag.id == customer_tags.c.tag_id)
            .where(customer_tags.c.customer_id == Customer.id, Tag.name.in_(list(names)))
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
        wanted = select(Tag.id).where(Tag.name.in_(list(names))).scalar_subquery()
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


# --- Is this one in: the same rules in Python ---------------------------------------------


@dataclass(frozen=True)
class CustomerFacts:
    """What the rules look at, for one customer.

    Active discounts are kept as their expiry times, not a count, because
    whether one is still active depends on the `now` the rules are asked at.
    """

    status: CustomerStatus
    tags: frozenset[str] = frozenset()
    subscribed_at: datetime | None = None
    birth_month: int | None = None
    last_seen_at: datetime | None = None
    source: str | None = None
    active_discounts_expire_at: tuple[datetime, ...] = ()
    redeemed_count: int = 0


def matches(rules: SegmentRules, facts: CustomerFacts, *, now: datetime) -> bool:
    return _tags_match(rules, facts.tags) and all(
        _customer_checks(rules, facts) + _discount_checks(rules, facts, now)
    )


def _tags_match(rules: SegmentRules, tags: frozenset[str]) -> bool:
    return (
        (rules.tags_any is None or not tags.isdisjoint(rules.tags_any))
        and (rules.tags_all is None or tags.issuperset(rules.tags_all))
        and (rules.tags_none is None or tags.isdisjoint(rules.tags_none))
    )


def _customer_checks(rules: SegmentRules, facts: CustomerFacts) -> list[bool]:
    return [
        rules.status is None or facts.status in rules.status,
        _at_or_after(facts.subscribed_at, rules.subscribed_from),
        _before(facts.subscribed_at, rules.subscribed_to),
        rules.birthday_month is None or facts.birth_month == rules.birthday_month,
        _at_or_after(facts.last_seen_at, rules.last_seen_after),
        _before(facts.last_seen_at, rules.last_seen_before),
        rules.source is None or facts.source in rules.source,
    ]


def _at_or_after(moment: datetime | None, bound: datetime | None) -> bool:
    return bound is None or (moment is not None and moment >= bound)


def _before(moment: datetime | None, bound: datetime | None) -> bool:
    return bound is None or (moment is not None and moment < bound)


def _discount_checks(rules: SegmentRules, facts: CustomerFacts, now: datetime) -> list[bool]:
    has_active = any(expires_at > now for expires_at in facts.active_discounts_expire_at)
    return [
        rules.has_active_discount is None or has_active == rules.has_active_discount,
        facts.redeemed_count >= (rules.redeemed_count_at_least or 0),
    ]


# --- Stored segments ----------------------------------------------------------------------


async def get(session: AsyncSession, segment_id: int, *, for_update: bool = False) -> Segment:
    segment = await session.get(Segment, segment_id, with_for_update=for_update)
    if segment is None:
        raise NotFound(f"segment {segment_id} does not exist", entity="segment")
    return segment


async def find(session: AsyncSession, segment_id: int) -> Segment | None:
    """The segment, or None; one already in the session is not read again."""
    return await session.get(Segment, segment_id)


async def list_all(session: AsyncSession) -> list[Segment]:
    """Every segment, by name."""
    return list(await session.scalars(select(Segment).order_by(Segment.name)))


async def by_ids(session: AsyncSession, ids: Iterable[int]) -> list[Segment]:
    """The segments among `ids` that exist, in no particular order (one statement)."""
    return list(await session.scalars(select(Segment).where(Segment.id.in_(list(ids)))))


async def create(
    session: AsyncSession,
    name: str,
    rules: dict[str, Any],
    *,
    actor: Actor,
    description: str | None = None,
) -> Segment:
    segment = Segment(
        name=await _free_name(session, name),
        rules=_stored(parse_rules(rules)),
        description=_clean_description(description),
    )
    async with _name_guard(session, segment.name):
        session.add(segment)
    await audit.record(
        session, actor, "segment.create", "segment", segment.id, after=snapshot(segment)
    )
    return segment


async def update(
    session: AsyncSession,
    segment_id: int,
    *,
    actor: Actor,
    name: str | None = None,
    rules: dict[str, Any] | None = None,
    description: str | None = None,
) -> Segment:
    """Change what is given: `rules` replace the old ones whole, description "" clears it.

    A call that changes nothing leaves no audit line.
    """
    parsed = parse_rules(rules) if rules is not None else None
    segment = await get(session, segment_id, for_update=True)
    before = snapshot(segment)
    new_name = await _free_name(session, name, keep_id=segment.id) if name is not None else None
    async with _name_guard(session, new_name or segment.name):
        if new_name is not None:
            segment.name = new_name
        if parsed is not None:
            segment.rules = _stored(parsed)
        if description is not None:
            segment.description = _clean_description(description)
    if snapshot(segment) != before:
        await audit.record(
            session,
            actor,
            "segment.update",
            "segment",
            segment.id,
            before=before,
            after=snapshot(segment),
        )
    return segment


async def delete(session: AsyncSession, segment_id: int, *, actor: Actor) -> None:
    """Refused while an unsent broadcast targets it: without the segment it would go to all.

    Broadcasts already sending or sent keep their rules snapshot (segment_id goes NULL).
    """
    segment = await get(session, segment_id, for_update=True)
    waiting = await session.scalar(
        select(func.count())
        .select_from(Broadcast)
        .where(
            Broadcast.segment_id == segment_id,
            Broadcast.status.in_((BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED)),
        )
    )
    if waiting:
        raise Conflict(
            f"{waiting} draft or scheduled broadcast(s) use this segment; change them first",
            field="id",
        )
    before = snapshot(segment)
    await session.delete(segment)
    await session.flush()
    await audit.record(session, actor, "segment.delete", "segment", segment_id, before=before)


def _stored(rules: SegmentRules) -> dict[str, Any]:
    return rules.model_dump(mode="json", exclude_none=True)


def _clean_description(raw: str | None) -> str | None:
    return (raw or "").strip() or None


async def _free_name(session: AsyncSession, raw: str, *, keep_id: int | None = None) -> str:
    """The cleaned name, or Conflict if another segment has it (in the database's collation)."""
    name = raw.strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise ValidationFailed(f"a name must be 1 to {MAX_NAME_LENGTH} characters", field="name")
    query = select(Segment.id).where(Segment.name == name)
    if keep_id is not None:
        query = query.where(Segment.id != keep_id)
    if await session.scalar(query) is not None:
        raise Conflict(f"a segment named {name!r} already exists", field="name")
    return name


@asynccontextmanager
async def _name_guard(session: AsyncSession, name: str) -> AsyncIterator[None]:
    """Flush what is done inside under a savepoint; a duplicate name becomes Conflict.

    `_free_name` already said the name was free; this catches the parallel
    request that took it in between (the unique index is the last word).
    """
    try:
        async with session.begin_nested():
            yield
    except IntegrityError:
        raise Conflict(f"a segment named {name!r} already exists", field="name") from None


def snapshot(segment: Segment) -> dict[str, Any]:
    return {"name": segment.name, "description": segment.description, "rules": segment.rules}
