"""The broadcast engine on the seeded data: one broadcast to a segment of `audience` customers.

Reuses `bench.broadcast`'s pieces (processes, Redis keys, enqueueing, the fake's
counters); what differs is the audience: a saved segment over the full data
set ("active, subscribed since <moment>", the moment picked so that it holds
`audience` customers), so resolving the segment into the delivery ledger
(`INSERT … SELECT` over the whole base) is part of the time. Figures, as in
the broadcast issue: audience resolution (from `send_now` until the first
message reaches the fake), the ceiling (messages/s at the fake between 5% and
95% of the audience, with no send limit) and the worker's peak RSS.
The 30/s rate check of `bench.broadcast` does not depend on the size of the
base and is not repeated here.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import select

from backend.domain import segments
from backend.domain.models import Customer, CustomerStatus
from bench.broadcast import CEILING_TARGET, MEMORY_TARGET_MB, NO_LIMIT, ceiling, forget_keys
from bench.measure import Figure, above, below, judged, peak_rss_mb, say
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
    say(f"broadcast: a segment of {audience} customers with no send limit…")
    segment_id, members = await _segment(sessions, audience)
    await forget_keys(redis_url)

    with worker({**env, **NO_LIMIT}, log_dir, "broadcast-worker") as child:
        await asyncio.sleep(2)  # the worker connects to the stream
        run = await ceiling(
            sessions,
            fake,
            redis_url,
            members,
            child,
            title="Бенчмарк: сегмент",
            segment_id=segment_id,
        )
        await asyncio.sleep(1)
        memory = peak_rss_mb(child.pid)
    await forget_keys(redis_url)
    resolution, elapsed, rate = run.first_message, run.elapsed, run.rate
    return [
        Figure(
            f"broadcast to a segment of {members}: start to first message",
            f"{resolution:.2f} s",
            numbers=(resolution,),
        ),
        Figure(f"broadcast to {members}: end to end", f"{elapsed:.1f} s", numbers=(elapsed,)),
        Figure(
            "broadcast worker CPU per 1,000 messages",
            f"{run.cpu_per_1000:.2f} s",
            numbers=(run.cpu_per_1000,),
        ),
        judged(
            "broadcast engine ceiling (messages/s)",
            f"{rate:.0f}",
            f">= {CEILING_TARGET:.0f}",
            (rate,),
            above(rate, CEILING_TARGET),
        ),
        judged(
            "broadcast worker peak RSS (VmHWM)",
            f"{memory:.0f} MB",
            f"<= {MEMORY_TARGET_MB:.0f} MB",
            (memory,),
            below(memory, MEMORY_TARGET_MB),
        ),
    ]
