"""Broadcasts in the admin API: list, card, the lifecycle mutations, live progress.

Every state change (schedule, send now, pause, resume, cancel) commits first,
then, for send now and resume, enqueues `process_broadcast` for the engine,
and then publishes the new stats on the broadcast's progress channel, so a
dashboard watching `broadcastProgress` sees a pause or a cancel at once.

The progress channel (`backend.pubsub.broadcast_channel(id)`) carries
`broadcasts.ProgressMessage` dicts: a full snapshot each, so a viewer that missed some
still shows the right thing. A live engine publishes several a second; when the
channel has been quiet for `QUIET_CHECK_SECONDS` the subscription reads the
snapshot from the database itself, so a viewer learns that the worker died
(`workerAlive` false, no rate) and never keeps a stale count after a pause.
"""

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from backend.domain import broadcasts, pagination
from backend.domain import models as m
from backend.domain.clock import utcnow
from backend.domain.tasks import enqueue_after_commit
from backend.graphql.customers import Customer
from backend.graphql.mapping import copied
from backend.graphql.pagination import Connection, connection, decode_cursor
from backend.graphql.permissions import allow
from backend.graphql.scalars import BroadcastStatus, DeliveryStatus, ParseMode
from backend.pubsub import broadcast_channel
from backend.runtime import Runtime

if TYPE_CHECKING:
    from backend.graphql.segments import Segment

log = logging.getLogger("dvorik.graphql.broadcasts")

ORDERING = pagination.Ordering(m.Broadcast.id, m.Broadcast.id, pagination.Direction.DESC)
DELIVERY_ORDERING = pagination.Ordering(
    m.BroadcastDelivery.id, m.BroadcastDelivery.id, pagination.Direction.ASC
)
TERMINAL = frozenset({BroadcastStatus.COMPLETED, BroadcastStatus.CANCELLED, BroadcastStatus.FAILED})
# A live engine publishes every 0.25 s; this long without a message, a viewer's
# subscription reads the database (a dead worker, a lost message, a stopped run).
# With no live worker shown, each read that finds nothing new doubles the wait, up
# to the most: a paused broadcast's viewers do not count its rows every few seconds.
QUIET_CHECK_SECONDS = 2.5
QUIET_CHECK_MOST_SECONDS = 30.0


# --- The progress channel's messages ------------------------------------------------------


async def publish_progress(
    runtime: Runtime, broadcast_id: int, stats: broadcasts.BroadcastStats
) -> None:
    """Tell live viewers; the change is committed already, so a failure here only logs."""
    try:
        message = broadcasts.progress_message(broadcast_id, stats, now=utcnow())
        await runtime.pubsub.publish(broadcast_channel(broadcast_id), dict(message))
    except Exception as error:  # best effort: viewers catch up on the next message
        log.warning("could not publish progress of broadcast %s: %r", broadcast_id, error)


# --- Types ---------------------------------------------------------------------------------


@strawberry.type(description="A broadcast's status and its delivery rows counted by status.")
class BroadcastStats:
    status: BroadcastStatus
    total: int
    sent: int
    failed: int
    blocked: int
    pending: int

    @classmethod
    def of(cls, stats: broadcasts.BroadcastStats) -> "BroadcastStats":
        return copied(cls, stats)


@strawberry.type(description="One customer's copy of a broadcast.")
class Delivery:
    id: int
    customer_id: int
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    sent_at: dt.datetime | None

    @strawberry.field
    async def customer(self, info: Info) -> Customer | None:
        row = await info.context.loaders.customer.load(self.customer_id)
        return Customer.of(row) if row else None

    @classmethod
    def of(cls, row: m.BroadcastDelivery) -> "Delivery":
        return copied(cls, row)


@strawberry.type(description="A message to many customers, and where its sending stands.")
class Broadcast:
    id: int
    title: str
    text: str
    parse_mode: ParseMode
    status: BroadcastStatus
    segment_id: int | None = strawberry.field(description="Null: every active customer.")
    promo_percent: int | None = strawberry.field(
        description="Each recipient gets a discount of this percent (for {code} and {percent})."
    )
    scheduled_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @strawberry.field
    async def segment(
        self, info: Info
    ) -> Annotated["Segment", strawberry.lazy("backend.graphql.segments")] | None:
        from backend.graphql.segments import Segment

        if self.segment_id is None:
            return None
        row = await info.context.loaders.segment.load(self.segment_id)
        return Segment.of(row) if row else None

    @strawberry.field
    async def stats(self, info: Info) -> BroadcastStats:
        stats: broadcasts.BroadcastStats = await info.context.loaders.broadcast_stats.load(self.id)
        return BroadcastStats.of(stats)

    @strawberry.field(description="In the order they were created.")
    async def deliveries(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        status: DeliveryStatus | None = None,
    ) -> Connection[Delivery]:
        query = _deliveries(self.id, status)
        session = await info.context.session()
        page = await pagination.keyset_page(
            session,
            query,
            DELIVERY_ORDERING,
            first=first,
            after=decode_cursor(after, DELIVERY_ORDERING),
        )

        async def total() -> int:
            return await pagination.count(session, query)

        return connection(page, Delivery.of, total)

    @classmethod
    def of(cls, row: m.Broadcast) -> "Broadcast":
        return copied(cls, row)


@strawberry.type(description="A live progress snapshot of a broadcast.")
class BroadcastProgress:
    broadcast_id: int
    status: BroadcastStatus
    total: int
    sent: int
    failed: int
    blocked: int
    pending: int
    worker_alive: bool = strawberry.field(
        description="A worker is sending this broadcast right now (heard from within the last"
        " 10 s). False while SENDING means no worker is: it died or none is running; the"
        " broadcast is resumed by the next worker that looks (within seconds when one is"
        " running). Always false when not SENDING."
    )
    rate: float | None = strawberry.field(
        description="Deliveries per second, when known; null without a live worker."
    )
    eta: float | None = strawberry.field(
        description="Seconds until done, when known; null without a live worker."
    )

    @classmethod
    def of(cls, message: broadcasts.ProgressMessage) -> "BroadcastProgress":
        return cls(
            broadcast_id=message["broadcast_id"],
            status=BroadcastStatus(message["status"]),
            total=message["total"],
            sent=message["sent"],
            failed=message["failed"],
            blocked=message["blocked"],
            pending=message["pending"],
            worker_alive=message["worker_alive"],
            rate=message["rate"],
            eta=message["eta"],
        )

    @classmethod
    def parse(cls, broadcast_id: int, raw: dict[str, Any]) -> "BroadcastProgress | None":
        """A message from the channel, or None (logged) if it does not fit the shape.

        A message without `worker_alive` (published by a worker of an older
        version, during a rolling update) is taken as from a live worker while
        the broadcast is sending.
        """
        try:
            counts = {
                key: int(raw.get(key) or 0)
                for key in ("total", "sent", "failed", "blocked", "pending")
            }
            status = BroadcastStatus(raw["status"])
            alive = raw.get("worker_alive", status is BroadcastStatus.SENDING)
            rate, eta = raw.get("rate"), raw.get("eta")
            return cls(
                broadcast_id=broadcast_id,
                status=status,
                worker_alive=bool(alive),
                rate=float(rate) if rate is not None else None,
                eta=float(eta) if eta is not None else None,
                **counts,
            )
        except (KeyError, TypeError, ValueError):
            log.warning("skipped a malformed progress message of broadcast %s", broadcast_id)
            return None

    def same_counts(self, other: "BroadcastProgress") -> bool:
        return (self.status, self.total, self.sent, self.failed, self.blocked, self.pending) == (
            other.status,
            other.total,
            other.sent,
            other.failed,
            other.blocked,
            other.pending,
        )


async def _snapshot(runtime: Runtime, broadcast_id: int) -> BroadcastProgress:
    """Where the broadcast stands by the database (and whether a live worker is sending it)."""
    async with runtime.read_sessions() as session:  # short-lived: no open transaction
        stats = await broadcasts.stats(session, broadcast_id)
    return BroadcastProgress.of(broadcasts.progress_message(broadcast_id, stats, now=utcnow()))


def _deliveries(broadcast_id: int, status: DeliveryStatus | None) -> Select[m.BroadcastDelivery]:
    query = select(m.BroadcastDelivery).where(m.BroadcastDelivery.broadcast_id == broadcast_id)
    if status is not None:
        query = query.where(m.BroadcastDelivery.status == status)
    return query


def _broadcasts(statuses: list[BroadcastStatus] | None) -> Select[m.Broadcast]:
    query = select(m.Broadcast)
    if statuses:
        query = query.where(m.Broadcast.status.in_(statuses))
    return query


# --- Inputs --------------------------------------------------------------------------------


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


# --- Roots ---------------------------------------------------------------------------------


@strawberry.type
class BroadcastQueries:
    @strawberry.field(permission_classes=allow("Query.broadcasts"), description="Newest first.")
    async def broadcasts(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        status: list[BroadcastStatus] | None = None,
    ) -> Connection[Broadcast]:
        query = _broadcasts(status)
        session = await info.context.session()
        page = await pagination.keyset_page(
            session, query, ORDERING, first=first, after=decode_cursor(after, ORDERING)
        )

        async def total() -> int:
            return await pagination.count(session, query)

        return connection(page, Broadcast.of, total)

    @strawberry.field(permission_classes=allow("Query.broadcast"))
    async def broadcast(self, info: Info, id: int) -> Broadcast | None:
        row = await info.context.loaders.broadcast.load(id)
        return Broadcast.of(row) if row else None


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
            segment = await session.get(m.Segment, row.segment_id)
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
                parse_mode=input.parse_mode,
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
                parse_mode=input.parse_mode,
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


@strawberry.type
class BroadcastSubscriptions:
    @strawberry.subscription(
        permission_classes=allow("Subscription.broadcastProgress"),
        description="The current snapshot, then each change, until the broadcast is"
        " completed, cancelled or failed.",
    )
    async def broadcast_progress(
        self, info: Info, id: int
    ) -> AsyncGenerator[BroadcastProgress, None]:
        runtime: Runtime = info.context.runtime
        # Listen before reading, so nothing published in between is lost. Changes
        # are published after they commit, so a message queued meanwhile may be
        # older than the snapshot, but the newest one never is.
        async with runtime.pubsub.subscribe(broadcast_channel(id)) as messages:
            last = await _snapshot(runtime, id)
            yield last
            if last.status in TERMINAL:
                return
            incoming = aiter(messages)
            arriving = asyncio.ensure_future(anext(incoming))
            quiet = QUIET_CHECK_SECONDS
            try:
                while True:
                    # Quiet for a while: no live engine publishes. Read the database, and
                    # tell the viewer if the worker is gone or the counts moved on.
                    done, _ = await asyncio.wait({arriving}, timeout=quiet)
                    if not done:
                        checked = await _snapshot(runtime, id)
                        if checked == last or (checked.worker_alive and checked.same_counts(last)):
                            if not last.worker_alive:  # only a message can change it now
                                quiet = min(quiet * 2, QUIET_CHECK_MOST_SECONDS)
                            continue  # nothing new (a live worker keeps its rate)
                        progress: BroadcastProgress | None = checked
                    else:
                        try:
                            raw = arriving.result()
                        except StopAsyncIteration:
                            return
                        arriving = asyncio.ensure_future(anext(incoming))
                        progress = BroadcastProgress.parse(id, raw)
                    if progress is None or progress == last:
                        continue
                    last, quiet = progress, QUIET_CHECK_SECONDS
                    yield progress
                    if progress.status in TERMINAL:
                        return
            finally:
                arriving.cancel()


ROOTS = {
    "query": BroadcastQueries,
    "mutation": BroadcastMutations,
    "subscription": BroadcastSubscriptions,
}
