"""On a Sentinel group a task counts as sent only once a replica has it.

Replication is asynchronous: Redis answers an XADD before its replica has
the entry. A primary SIGKILLed at that moment takes the task with it, and
the replica promoted in its place never had it, while the sender (an API
request, the scheduler) was told the task was queued. So the stream broker
follows each XADD with `WAIT 1` on the same connection when its URL is a
Sentinel group (`backend.task_queue.stream_broker`).

The test makes that moment last: the replica is stopped (SIGSTOP) and the
primary writes more than the loopback connection holds, so the task's entry
waits in the primary's output buffer. The task is sent, the primary is
killed, the replica resumes and is promoted. The sender was either told the
task is queued and it is on the new primary, or told it was not: never
"queued" and gone. (With the WAIT left out the send returns at once and the
task is missing after the failover: this test fails.)
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import pytest
from redis.asyncio import Redis

from backend.task_queue import QUEUE, TaskiqTaskQueue, create_broker
from tests.processes import wait_until
from tests.sentinel_group import sentinel_group

pytestmark = [pytest.mark.slow]

# More than a loopback connection buffers (a few MB each way): the rest, and the
# task's entry after it, wait in the primary's output buffer for the replica.
BACKLOG_BYTES = 32 * 1024 * 1024
FAILOVER_WITHIN = 30.0


async def _task_ids(port: int) -> set[str]:
    """The task ids of every entry in the stream on the server at `port`."""
    async with Redis(port=port) as redis:
        entries = await redis.xrange(QUEUE) or []
    return {json.loads(fields[b"data"])["task_id"] for _, fields in entries if fields}


async def test_a_task_told_queued_outlives_its_primary_dying_before_the_replica_had_it(
    tmp_path: Path,
) -> None:
    with sentinel_group(tmp_path) as group:
        await group.wait_settled()
        assert group.replica.process is not None
        queue = TaskiqTaskQueue(create_broker(group.url))
        try:
            before = await queue.enqueue("expire_discounts")
            os.kill(group.replica.process.pid, signal.SIGSTOP)
            try:
                async with Redis(port=group.primary.port) as primary:
                    await primary.set("replication-backlog", b"x" * BACKLOG_BYTES)
                sending = asyncio.create_task(queue.enqueue("expire_discounts"))
                await asyncio.sleep(0.3)  # XADD done; a WAIT, if any, still waits
                group.primary.kill()
            finally:
                os.kill(group.replica.process.pid, signal.SIGCONT)
            try:
                sent: str | None = await sending
                told = "queued"
            except Exception as error:  # the sender hears of it: no silent loss
                sent, told = None, f"not queued: {error!r}"

            async def promoted() -> bool:
                return await group.primary_port() == group.replica.port

            await wait_until(promoted, "the replica promoted", seconds=FAILOVER_WITHIN, every=0.2)
            on_new_primary = await _task_ids(group.replica.port)
        finally:
            await queue.close()

    there = sent in on_new_primary
    print(f"\nsentinel replication: the sender was told {told!r}; on the new primary: {there}")
    assert before in on_new_primary
    assert sent is None or sent in on_new_primary, (told, sent, on_new_primary)
