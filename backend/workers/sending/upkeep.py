"""The chores that run beside a run's main loop while it lives.

They are what lets others trust a run they cannot see: a heartbeat on the
broadcast every `HEARTBEAT_EVERY` (a run that stops writing it, a killed
worker, is noticed by the workers' sweep within seconds and the broadcast is
queued again), its leases renewed well before they end (so a lease can be
short however long a send waits), and the broadcast's status re-read every
`STATUS_EVERY` (a pause or cancel stops new sends within about a second).
"""

from __future__ import annotations

import asyncio
import logging

from backend.domain import broadcasts, deliveries
from backend.domain.models import BroadcastStatus
from backend.workers.sending.context import RunContext
from backend.workers.sending.recording import Recorder

log = logging.getLogger("dvorik.sending")

STATUS_EVERY = 0.25  # seconds between re-reads of the broadcast's status
HEARTBEAT_EVERY = 2.0  # seconds between two heartbeats of a run (see broadcasts.RUN_SILENCE)


async def read_status(context: RunContext) -> BroadcastStatus:
    return await context.tx(lambda s: deliveries.sending_status(s, context.broadcast_id))


async def watch_status(context: RunContext) -> None:
    """Stop the run once the broadcast is no longer "sending" (paused, cancelled, deleted)."""
    while not context.stop.is_set():
        await asyncio.sleep(STATUS_EVERY)
        try:
            status = await read_status(context)
        except Exception:
            log.exception("broadcast %s: could not read its status", context.broadcast_id)
            continue
        if status is not BroadcastStatus.SENDING:
            context.halt(status)


async def stop_when(stop: asyncio.Event, context: RunContext) -> None:
    """The worker is shutting down: the run stops the way a pause stops it."""
    await stop.wait()
    context.stop.set()


async def renew_leases(context: RunContext, recorder: Recorder) -> None:
    """Keep this run's leases a full lease ahead while it lives (a dead run's lapse)."""
    every = context.lease.total_seconds() / 3
    while True:
        await asyncio.sleep(every)
        held = recorder.held_leases()
        if not held:
            continue
        try:
            await recorder.marks.renew(held, context.clock() + context.lease)
        except Exception:  # rows whose lease lapses are settled by the rules; go on
            log.warning("broadcast %s: could not renew leases", context.broadcast_id)


async def heartbeat(context: RunContext) -> None:
    # The time is taken in the transaction: a wait for a connection must not age it.
    await context.tx(
        lambda s: broadcasts.record_heartbeat(s, context.broadcast_id, now=context.clock())
    )


async def beat(context: RunContext) -> None:
    """Say this run lives every `HEARTBEAT_EVERY`: the sweep and the progress read it."""
    while True:
        await asyncio.sleep(HEARTBEAT_EVERY)
        try:
            await heartbeat(context)
        except Exception:  # missed beats only make the run look dead a little early
            log.warning("broadcast %s: could not write its heartbeat", context.broadcast_id)
