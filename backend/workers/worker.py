"""`dvorik worker`: a process that runs Dvorik's tasks from the Redis stream until told to stop."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from taskiq import AcknowledgeType, AsyncBroker
from taskiq.receiver import Receiver

from backend.heap import freeze_start_up_heap
from backend.observability.readings import READINGS, WORKER_LAST_READ
from backend.task_queue import DvorikStreamBroker
from backend.workers.tasks import register_tasks

WORKER_CONCURRENCY = 20  # tasks one worker process runs at once
SHUTDOWN_GRACE_SECONDS = 30.0  # how long a stopping worker waits for running tasks


async def run_worker(
    broker: AsyncBroker,
    stop: asyncio.Event,
    *,
    concurrency: int = WORKER_CONCURRENCY,
    grace_seconds: float = SHUTDOWN_GRACE_SECONDS,
) -> None:
    """Register every task on `broker`, run what it receives until `stop` is set, then
    let running ones finish.

    The broker's worker start-up builds the process's `Runtime`
    (`backend.workers.tasks.lifecycle`); it is stopped again on the way out.
    `stop` is also the state's `stopping` event: long tasks (a broadcast) watch
    it and hand their work back at once rather than make the process wait for
    them; short ones get up to `grace_seconds` to finish. The worker's metrics
    show when it last read the stream (a hung loop or a lost Redis stops it).
    """
    register_tasks(broker)
    if isinstance(broker, DvorikStreamBroker):
        READINGS.follow(WORKER_LAST_READ, lambda: broker.last_read)
    broker.is_worker_process = True
    broker.state.stopping = stop
    broker.state.sweeps = True  # look for broadcasts nobody sends (`sweep_forever`)
    await broker.startup()
    freeze_start_up_heap()  # start-up's heap out of every full GC, its garbage given back
    try:
        with ThreadPoolExecutor(max_workers=2) as executor:
            receiver = Receiver(
                broker,
                executor=executor,
                max_async_tasks=concurrency,
                run_startup=False,
                ack_type=AcknowledgeType.WHEN_EXECUTED,
                wait_tasks_timeout=grace_seconds,
            )
            await receiver.listen(stop)
    finally:
        await broker.shutdown()
