"""The broker of the embedded mode: tasks run as asyncio tasks of the API process.

Without REDIS_URL, `dvorik serve` is the whole system: what the API enqueues
runs right here, through the very task definitions a worker process runs
(`backend.workers.tasks`), registered on this broker by the entry point that
starts the process. This is Taskiq's `InMemoryBroker`, keeping its running
tasks itself so that a stopping server (or a test) can wait for them, and
logging a task nobody registered instead of failing the request that sent it.
"""

from __future__ import annotations

import asyncio
import logging

from taskiq import BrokerMessage, InMemoryBroker

log = logging.getLogger("dvorik.tasks")

CONCURRENCY = 20  # tasks run at once, as one worker process does


class EmbeddedBroker(InMemoryBroker):
    def __init__(self) -> None:
        super().__init__(max_async_tasks=CONCURRENCY)
        self.running: set[asyncio.Task[None]] = set()

    async def kick(self, message: BrokerMessage) -> None:
        """Run the task now, in this process; one not registered here is logged, not run."""
        if self.find_task(message.task_name) is None:
            log.warning(
                "no task %s in this process (job %s): not run", message.task_name, message.task_id
            )
            return
        running = asyncio.create_task(self.receiver.callback(message=message.message))
        self.running.add(running)
        running.add_done_callback(self.running.discard)

    async def wait_idle(self) -> None:
        """Until no task runs, including those the running ones start meanwhile."""
        while self.running:
            await asyncio.wait(set(self.running))
