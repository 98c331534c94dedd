"""Live progress of a broadcast: what the mutations publish and `broadcastProgress` streams.

The progress channel (`backend.pubsub.broadcast_channel(id)`) carries
`broadcasts.ProgressMessage` dicts: a full snapshot each, so a viewer that missed some
still shows the right thing. A live engine publishes several a second; when the
channel has been quiet for `QUIET_CHECK_SECONDS` the subscription reads the
snapshot from the database itself, so a viewer learns that the worker died
(`workerAlive` false, no rate) and never keeps a stale count after a pause.
"""

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from strawberry.types import Info

from backend.domain import broadcasts
from backend.domain.clock import utcnow
from backend.graphql.permissions import allow
from backend.graphql.scalars import BroadcastStatus
from backend.pubsub import broadcast_channel
from backend.runtime import Runtime

log = logging.getLogger("dvorik.graphql.broadcasts")

TERMINAL = frozenset({BroadcastStatus.COMPLETED, BroadcastStatus.CANCELLED, BroadcastStatus.FAILED})
# A live engine publishes every 0.25 s; this long without a message, a viewer's
# subscription reads the database (a dead worker, a lost message, a stopped run).
# With no live worker shown, each read that finds nothing new doubles the wait, up
# to the most: a paused broadcast's viewers do not count its rows every few seconds.
QUIET_CHECK_SECONDS = 2.5
QUIET_CHECK_MOST_SECONDS = 30.0


async def publish_progress(
    runtime: Runtime, broadcast_id: int, stats: broadcasts.BroadcastStats
) -> None:
    """Tell live viewers; the change is committed already, so a failure here only logs."""
    try:
        message = broadcasts.progress_message(broadcast_id, stats, now=utcnow())
        await runtime.pubsub.publish(broadcast_channel(broadcast_id), dict(message))
    except Exception as error:  # best effort: viewers catch up on the next message
        log.warning("could not publish progress of broadcast %s: %r", broadcast_id, error)


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
