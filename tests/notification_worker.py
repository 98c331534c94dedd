"""A task worker whose customer bot talks to a fake Bot API: where customer notices are sent.

Shared by the tests of discount notices and of admins' direct messages: the
API (the session's server) plans and queues, this worker sends, the fake
records what reached the customer's chat and when. The transcripts' player
(tests/transcripts.py) runs one on the fake its chats use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from taskiq import AsyncBroker

from backend.fake_telegram import FakeTelegram
from backend.fake_telegram import create_app as fake_telegram_app
from backend.runtime import Runtime
from tests.api import serve_app, settings_for
from tests.task_queues import RecordingTaskQueue, broker_with_tasks

CUSTOMER_TOKEN = "700000011:" + "n" * 35
CASHIER_TOKEN = "700000012:" + "m" * 35


@dataclass
class Worker:
    runtime: Runtime
    broker: AsyncBroker
    telegram: FakeTelegram
    customer_token: str = CUSTOMER_TOKEN

    async def run(self, task: str, **kwargs: Any) -> Any:
        """Send `task` through the broker, as the API's enqueue would, and wait for its result."""
        found = self.broker.find_task(task)
        assert found is not None, task
        sent = await found.kiq(**kwargs)
        result = await sent.wait_result(timeout=60)
        assert not result.is_err, result.error
        return result.return_value

    def received(self, telegram_id: int) -> list[Any]:
        """What the customer bot sent to this customer's chat, oldest first."""
        return self.telegram.messages_to(telegram_id, token=self.customer_token)


@asynccontextmanager
async def notification_worker(engine: AsyncEngine) -> AsyncIterator[Worker]:
    """A worker with a fake Bot API of its own."""
    telegram = FakeTelegram()
    async with (
        serve_app(fake_telegram_app(telegram)) as url,
        worker_talking_to(engine, telegram, url) as worker,
    ):
        yield worker


@asynccontextmanager
async def worker_talking_to(
    engine: AsyncEngine,
    telegram: FakeTelegram,
    url: str,
    *,
    customer_token: str = CUSTOMER_TOKEN,
    cashier_token: str = CASHIER_TOKEN,
) -> AsyncIterator[Worker]:
    """A worker whose bots (with these tokens) talk to `telegram`, served at `url`; what its
    tasks enqueue in turn is recorded, not run."""
    settings = settings_for(
        engine,
        telegram_api_url=url,
        telegram_bot_token=customer_token,
        telegram_auth_bot_token=cashier_token,
    )
    runtime = Runtime.start(settings, bots=False)  # as a worker's: no aiogram
    runtime.tasks = RecordingTaskQueue()
    broker = broker_with_tasks()
    broker.state.runtime = runtime
    await broker.startup()
    try:
        yield Worker(runtime, broker, telegram, customer_token)
    finally:
        await broker.shutdown()
        await runtime.stop()
