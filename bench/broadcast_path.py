"""The broadcast engine on the seeded data: one broadcast to a segment of `audience` customers.

Reuses `bench.broadcast`'s pieces (processes, Redis keys, enqueueing, the fake's
counters); what differs is the audience: a saved segment over the full data
set ("active, subscribed since <moment>", the moment picked so that it holds
`audience` customers), so resolving the segment into the delivery ledger
(`INSERT … SELECT` over the whole base) is part of the time. Figures, as in
the broadcast issue: audience resolution (from `send_now` until the first
message reaches the fake), the ceiling (messages/s at the fake between 5% and
95% of the audience, at the shop's maximum rate) and the worker's peak RSS.
The 30/s rate check of `bench.broadcast` does not depend on the size of the
base and is not repeated here.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import broadcasts, segments, shop_settings
from backend.domain.database import run_in_transaction
from backend.domain.models import BroadcastStatus, Customer, CustomerStatus
from bench.broadcast import (
    CEILING_TARGET,
    MEMORY_TARGET_MB,
    enqueue,
    forget_keys,
    sent_count,
    status_of,
)
from bench.measure import Figure, peak_rss_mb, say
from bench.world import ACTOR, Sessions, worker


async def _segment(sessions: Sessions, audience: int) -> tuple[int, int]:
    """(segment id, members): active customers subscribed since the `audience`-th newest."""
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        since = await session.scalar(
            select(Customer.subscribed_at)
            .where(Customer.status == CustomerStatus.ACTIVE, Customer.subscribed_at.is_not(None))
            .order_by(Customer.subscribed_at.desc())
            .offset(audience - 1)
            .limit(1)
        )
        if since is None:
            raise RuntimeError(f"fewer than {audience} active customers")
        rules = {"status": ["active"], "subscribed_from": since.isoformat()}
        segment = await segments.create(
            session, f"bench broadcast {now.isoformat()}", rules, actor=ACTOR
        )
        members = await segments.count_members(session, segments.parse_rules(rules), now=now)
    return segment.id, members


async def run(
    sessions: Sessions,
    fake: httpx.AsyncClient,
    env: dict[str, str],
    redis_url: str,
    audience: int,
    log_dir: Path,
) -> list[Figure]:
    say(f"broadcast: a segment of {audience} customers at the maximum rate…")
    segment_id, members = await _segment(sessions, audience)
    await forget_keys(redis_url)

    async def start(session_factory: Sessions) -> int:
        async def work(session: AsyncSession) -> int:
            await shop_settings.set_value(session, "broadcast_send_rate_per_second", 1000, ACTOR)
            made = await broadcasts.create(
                session,
                title="Бенчмарк: сегмент",
                text="Привет, {first_name}!",
                segment_id=segment_id,
                actor=ACTOR,
            )
            await broadcasts.send_now(session, made.id, actor=ACTOR, now=datetime.now(UTC))
            return made.id

        return await run_in_transaction(session_factory, work)

    with worker(env, log_dir, "broadcast-worker") as child:
        await asyncio.sleep(2)  # the worker connects to the stream
        begin = await sent_count(fake)
        started = time.monotonic()
        broadcast_id = await start(sessions)
        await enqueue(redis_url, broadcast_id)
        low, high = begin + members * 0.05, begin + members * 0.95
        first_at = t_low = t_high = None
        n_low = n_high = 0
        while True:
            now, count = time.monotonic(), await sent_count(fake)
            if first_at is None and count > begin:
                first_at = now
            if t_low is None and count >= low:
                t_low, n_low = now, count
            if t_high is None and count >= high:
                t_high, n_high = now, count
            if await status_of(sessions, broadcast_id) is BroadcastStatus.COMPLETED:
                break
            if child.poll() is not None:
                raise RuntimeError("the worker died during the broadcast")
            if now - started > 3600:
                raise RuntimeError("the broadcast took over an hour")
            await asyncio.sleep(0.05)
        elapsed = time.monotonic() - started
        await asyncio.sleep(1)
        memory = peak_rss_mb(child.pid)
    await forget_keys(redis_url)
    resolution = (first_at - started) if first_at is not None else elapsed
    rate = (n_high - n_low) / (t_high - t_low) if t_low and t_high and t_high > t_low else 0.0
    return [
        Figure(
            f"broadcast to a segment of {members}: start to first message",
            f"{resolution:.2f} s",
        ),
        Figure(f"broadcast to {members}: end to end", f"{elapsed:.1f} s"),
        Figure(
            "broadcast engine ceiling (messages/s)",
            f"{rate:.0f}",
            f">= {CEILING_TARGET:.0f}",
            rate >= CEILING_TARGET,
        ),
        Figure(
            "broadcast worker peak RSS (VmHWM)",
            f"{memory:.0f} MB",
            f"<= {MEMORY_TARGET_MB:.0f} MB",
            memory <= MEMORY_TARGET_MB,
        ),
    ]
