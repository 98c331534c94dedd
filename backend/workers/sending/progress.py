"""A run's progress for the admin: counts read from the delivery rows, rate and time to go.

Published on the broadcast's channel at most `PUBLISH_EVERY`, best effort:
a failure to publish never stops sending.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque

from backend.domain import broadcasts
from backend.pubsub import PubSub, broadcast_channel
from backend.workers.sending.context import RunContext

log = logging.getLogger("dvorik.sending")

PUBLISH_EVERY = 0.25  # at most 4 progress messages a second
RATE_WINDOW = 5.0  # seconds over which the published rate is measured


class Progress:
    def __init__(self, context: RunContext, pubsub: PubSub) -> None:
        self.context = context
        self.pubsub = pubsub
        self.samples: deque[tuple[float, int]] = deque()
        self.last_publish = -math.inf

    async def publish(self, *, force: bool = False, final: bool = False) -> None:
        """Progress from the delivery rows, at most every `PUBLISH_EVERY` unless forced.

        `final`: the run is over, so no rate or time to go (the next run, if
        any, publishes its own).
        """
        now = time.monotonic()
        if not force and now - self.last_publish < PUBLISH_EVERY:
            return
        self.last_publish = now
        broadcast_id = self.context.broadcast_id
        try:
            stats = await self.context.tx(lambda s: broadcasts.stats(s, broadcast_id))
            measured = self._rate(now, stats.sent + stats.failed + stats.blocked)
            rate = None if final else measured
            eta = stats.pending / rate if rate else None
            message = broadcasts.progress_message(
                broadcast_id, stats, now=self.context.clock(), rate=rate, eta=eta
            )
            await self.pubsub.publish(broadcast_channel(broadcast_id), dict(message))
        except Exception:  # progress is best effort: never stop sending for it
            log.exception("broadcast %s: could not publish progress", broadcast_id)

    def _rate(self, now: float, done: int) -> float | None:
        """Deliveries settled per second over the last `RATE_WINDOW` (None before 0.2 s)."""
        self.samples.append((now, done))
        while len(self.samples) > 2 and self.samples[1][0] < now - RATE_WINDOW:
            self.samples.popleft()
        since, done_then = self.samples[0]
        return (done - done_then) / (now - since) if now - since >= 0.2 else None
