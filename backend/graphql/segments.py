"""Segments in the admin API: saved audiences with a live count and a preview."""

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, cast
from weakref import WeakKeyDictionary

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON
from strawberry.types import Info

from backend.domain import models as m
from backend.domain import pagination, segments
from backend.graphql.customers.types import Customer
from backend.graphql.mapping import copied
from backend.graphql.permissions import allow

RULES_DESCRIPTION = (
    "A JSON object of rules, all of which must hold, e.g. "
    '{"tags_any": ["vip"], "birthday_month": 3}; unknown or malformed rules are '
    "INVALID_SEGMENT_RULES."
)

ARGUMENT_DESCRIPTION = "Rules as in `Segment.rules`."
RulesArgument = Annotated[JSON, strawberry.argument(description=ARGUMENT_DESCRIPTION)]


_READ_LOCKS: WeakKeyDictionary[Any, asyncio.Lock] = WeakKeyDictionary()


@asynccontextmanager
async def _members_session(info: Info) -> AsyncIterator[AsyncSession]:
    """A short-lived read session for member queries, one at a time per request.

    `count` and `preview` of every segment in a response resolve concurrently,
    alongside the DataLoaders on the request's shared session, and one
    AsyncSession must never run two statements at once; the lock keeps a
    request to one extra connection.
    """
    lock = _READ_LOCKS.setdefault(info.context, asyncio.Lock())
    async with lock, (await info.context.read_sessions())() as session:
        yield session


async def _count(info: Info, rules: segments.SegmentRules) -> int:
    async with _members_session(info) as session:
        return await segments.count_members(session, rules, now=info.context.now())


async def _preview(info: Info, rules: segments.SegmentRules, first: int) -> list[Customer]:
    pagination.check_page_size(first)
    async with _members_session(info) as session:
        rows = await segments.page_members(session, rules, now=info.context.now(), limit=first)
    return [Customer.of(row) for row in rows]


@strawberry.type(description="A saved audience: who matches its rules right now.")
class Segment:
    id: int
    name: str
    description: str | None
    rules: JSON = strawberry.field(description=RULES_DESCRIPTION)
    created_at: dt.datetime
    updated_at: dt.datetime

    @strawberry.field(description="How many customers match the rules now.")
    async def count(self, info: Info) -> int:
        return await _count(info, segments.parse_rules(self.rules))

    @strawberry.field(description="The first matching customers, by id (at most 200).")
    async def preview(self, info: Info, first: int = 10) -> list[Customer]:
        return await _preview(info, segments.parse_rules(self.rules), first)

    @classmethod
    def of(cls, row: m.Segment) -> "Segment":
        return copied(cls, row, rules=JSON(row.rules))


@strawberry.type(description="Who would match these rules, without saving anything.")
class SegmentPreview:
    count: int
    sample: list[Customer]


def _rules(raw: JSON) -> dict[str, Any]:
    """Rules as the client sent them; parse_rules refuses anything but an object."""
    return cast(dict[str, Any], raw)


@strawberry.type
class SegmentQueries:
    @strawberry.field(permission_classes=allow("Query.segments"), description="By name.")
    async def segments(self, info: Info) -> list[Segment]:
        session = await info.context.session()
        return [Segment.of(row) for row in await segments.list_all(session)]

    @strawberry.field(permission_classes=allow("Query.segment"))
    async def segment(self, info: Info, id: int) -> Segment | None:
        row = await info.context.loaders.segment.load(id)
        return Segment.of(row) if row else None

    @strawberry.field(
        permission_classes=allow("Query.previewSegment"),
        description="Count and sample of who matches `rules`; nothing is saved.",
    )
    async def preview_segment(
        self,
        info: Info,
        rules: RulesArgument,
        first: int = 10,
    ) -> SegmentPreview:
        parsed = segments.parse_rules(rules)
        sample = await _preview(info, parsed, first)
        return SegmentPreview(count=await _count(info, parsed), sample=sample)


@strawberry.type
class SegmentMutations:
    @strawberry.mutation(permission_classes=allow("Mutation.createSegment"))
    async def create_segment(
        self,
        info: Info,
        name: str,
        rules: RulesArgument,
        description: str | None = None,
    ) -> Segment:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            row = await segments.create(
                session, name, _rules(rules), actor=actor, description=description
            )
        return Segment.of(row)

    @strawberry.mutation(
        permission_classes=allow("Mutation.updateSegment"),
        description='Changes what is given: `rules` replace the old ones whole, "" clears '
        "the description.",
    )
    async def update_segment(
        self,
        info: Info,
        id: int,
        name: str | None = None,
        rules: Annotated[JSON | None, strawberry.argument(description=ARGUMENT_DESCRIPTION)] = None,
        description: str | None = None,
    ) -> Segment:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            row = await segments.update(
                session,
                id,
                actor=actor,
                name=name,
                rules=_rules(rules) if rules is not None else None,
                description=description,
            )
        return Segment.of(row)

    @strawberry.mutation(
        permission_classes=allow("Mutation.deleteSegment"),
        description="Broadcasts that used the segment keep their own copy of its rules.",
    )
    async def delete_segment(self, info: Info, id: int) -> bool:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            await segments.delete(session, id, actor=actor)
        return True


ROOTS = {"query": SegmentQueries, "mutation": SegmentMutations}
