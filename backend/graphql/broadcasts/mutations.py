"""A broadcast's lifecycle in the admin API: create, edit, schedule, send, pause, cancel.

Every state change (schedule, send now, pause, resume, cancel) commits first
(send now and resume queue `process_broadcast` for the engine, sent once the
transaction has committed), and then publishes the new stats on the
broadcast's progress channel, so a dashboard watching `broadcastProgress`
sees a pause or a cancel at once.
"""

import datetime as dt
import logging
from dataclasses import dataclass

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from backend.domain import broadcasts, segments
from backend.domain import models as m
from backend.domain.tasks import enqueue_after_commit
from backend.graphql.broadcasts.progress import publish_progress
from backend.graphql.broadcasts.types import Broadcast
from backend.graphql.permissions import allow
from backend.graphql.scalars import ParseMode, to_domain
from backend.runtime import Runtime

log = logging.getLogger("dvorik.graphql.broadcasts")


@strawberry.input
class CreateBroadcastInput:
    title: str
    text: str = strawberry.field(
        description="Up to 4096 characters; may use {first_name}, {last_name}, and with a"
        " promo percent {code}, {percent}, {expires_on}."
    )
    parse_mode: ParseMode = ParseMode.PLAIN
    segment_id: int | None = strawberry.field(
        default=None, description="Null: every active customer."
    )
    promo_percent: int | None = None


@strawberry.input(
    description="Changes what is given (null leaves a field as is); clearSegment and"
    " clearPromoPercent empty theirs."
)
class UpdateBroadcastInput:
    title: str | None = None
    text: str | None = None
    parse_mode: ParseMode | None = None
    segment_id: int | None = None
    clear_segment: bool = False
    promo_percent: int | None = None
    clear_promo_percent: bool = False


@dataclass(frozen=True)
class _Changed:
    """A broadcast as a mutation left it, with what its answer's fields need."""

    row: m.Broadcast
    stats: broadcasts.BroadcastStats
    segment: m.Segment | None

    @classmethod
    async def read(cls, session: AsyncSession, row: m.Broadcast) -> "_Changed":
        """Read in the mutation's own transaction, so the answer shows what it committed."""
        stats = await broadcasts.stats(session, row.id)
        segment = None
        if row.segment_id is not None:  # already in the identity map when it was checked
            segment = await segments.find(session, row.segment_id)
        return cls(row, stats, segment)

    def answer(self, info: Info) -> Broadcast:
        """The answer, with the loaders primed: its `stats` and `segment` show what
        the transaction committed and cost no further statement."""
        loaders = info.context.loaders
        loaders.broadcast_stats.prime(self.row.id, self.stats)
        if self.segment is not None:
            loaders.segment.prime(self.segment.id, self.segment)
        return Broadcast.of(self.row)

    async def announce(self, info: Info) -> Broadcast:
        """After the commit: tell live viewers, answer."""
        runtime: Runtime = info.context.runtime
        await publish_progress(runtime, self.row.id, self.stats)
        return self.answer(info)


@strawberry.type
class BroadcastMutations:
    @strawberry.mutation(
        permission_classes=allow("Mutation.createBroadcast"), description="A new draft."
    )
    async def create_broadcast(self, info: Info, input: CreateBroadcastInput) -> Broadcast:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            row = await broadcasts.create(
                session,
                title=input.title,
                text=input.text,
                parse_mode=to_domain(m.ParseMode, input.parse_mode),
                segment_id=input.segment_id,
                promo_percent=input.promo_percent,
                actor=actor,
            )
            changed = await _Changed.read(session, row)
        return changed.answer(info)

    @strawberry.mutation(
        permission_classes=allow("Mutation.updateBroadcast"),
        description="Only a draft or a scheduled broadcast can be edited.",
    )
    async def update_broadcast(self, info: Info, id: int, input: UpdateBroadcastInput) -> Broadcast:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            row = await broadcasts.update(
                session,
                id,
                actor=actor,
                title=input.title,
                text=input.text,
                parse_mode=to_domain(m.ParseMode, input.parse_mode),
                segment_id=input.segment_id,
                clear_segment=input.clear_segment,
                promo_percent=input.promo_percent,
                clear_promo_percent=input.clear_promo_percent,
            )
            changed = await _Changed.read(session, row)
        return changed.answer(info)

    @strawberry.mutation(
        permission_classes=allow("Mutation.scheduleBroadcast"),
        description="Send at `at` (with a time zone, in the future, within a year).",
    )
    async def schedule_broadcast(self, info: Info, id: int, at: dt.datetime) -> Broadcast:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            row = await broadcasts.schedule(session, id, at, actor=actor, now=info.context.now())
            changed = await _Changed.read(session, row)
        return await changed.announce(info)

    @strawberry.mutation(
        permission_classes=allow("Mutation.sendBroadcastNow"),
        description="Start sending a draft or a scheduled broadcast; fixes its audience.",
    )
    async def send_broadcast_now(self, info: Info, id: int) -> Broadcast:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            row = await broadcasts.send_now(session, id, actor=actor, now=info.context.now())
            changed = await _Changed.read(session, row)
            enqueue_after_commit(session, "process_broadcast", broadcast_id=row.id)
        return await changed.announce(info)

    @strawberry.mutation(permission_classes=allow("Mutation.pauseBroadcast"))
    async def pause_broadcast(self, info: Info, id: int) -> Broadcast:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            row = await broadcasts.pause(session, id, actor=actor)
            changed = await _Changed.read(session, row)
        return await changed.announce(info)

    @strawberry.mutation(permission_classes=allow("Mutation.resumeBroadcast"))
    async def resume_broadcast(self, info: Info, id: int) -> Broadcast:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            row = await broadcasts.resume(session, id, actor=actor)
            changed = await _Changed.read(session, row)
            enqueue_after_commit(session, "process_broadcast", broadcast_id=row.id)
        return await changed.announce(info)

    @strawberry.mutation(
        permission_classes=allow("Mutation.cancelBroadcast"),
        description="Stop for good: sent deliveries stay sent, pending ones are never sent.",
    )
    async def cancel_broadcast(self, info: Info, id: int) -> Broadcast:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            row = await broadcasts.cancel(session, id, actor=actor, now=info.context.now())
            changed = await _Changed.read(session, row)
        return await changed.announce(info)
