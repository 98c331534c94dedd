"""Every task run is recorded for the task monitor, through the real brokers, and the record
never costs a task anything: a database that does not answer loses records, not work.

Embedded (`dvorik serve` alone) on SQLite and MariaDB; the Redis stream with a worker
in this process for the state a task has while it waits in the queue.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import cast

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain.clock import utcnow
from backend.domain.models import TaskRun, TaskRunState
from backend.runtime import Runtime
from backend.task_queue import QueuedRuns, TaskiqTaskQueue, create_broker
from backend.workers.schedule import run_embedded
from backend.workers.tasks.task_runs import failure_of
from backend.workers.worker import run_worker
from tests.api import settings_for
from tests.databases import redis_url, require_redis
from tests.processes import wait_until

REDIS_URL = redis_url("TEST_REDIS_URL", 14)
PERSONAL = (
    "Зоя Зябликова",
    "+7 914 555-01-99",
    "79145550199",
    "zoya@example.com",
    "9R7ZME7T",
    "700000123",
    "700000001:" + "c" * 35,
)


async def greet_badly() -> None:
    raise RuntimeError(
        "could not greet Зоя Зябликова (+7 914 555-01-99, 79145550199, zoya@example.com):"
        " code 9R7ZME7T, chat 700000123, bot 700000001:" + "c" * 35
    )


async def quick() -> int:
    return 1


@pytest.fixture
async def embedded(engine: AsyncEngine) -> AsyncIterator[TaskiqTaskQueue]:
    """`dvorik serve`'s queue without Redis: its tasks run here, as on the server."""
    runtime = Runtime.start(settings_for(engine, task_runs_keep_days=7))
    queue = runtime.tasks
    assert isinstance(queue, TaskiqTaskQueue)
    queue.broker.register_task(greet_badly, task_name="test_greet_badly")
    try:
        async with run_embedded(runtime, schedule=False):
            yield queue
    finally:
        await runtime.stop()


async def runs(sessions: async_sessionmaker[AsyncSession], *task_ids: str) -> list[TaskRun]:
    """The runs of `task_ids`, in that order (tasks queued together may be recorded either way)."""
    async with sessions() as session:
        found = await session.scalars(select(TaskRun).where(TaskRun.task_id.in_(task_ids)))
        return sorted(found, key=lambda run: task_ids.index(run.task_id))


async def until_states(
    sessions: async_sessionmaker[AsyncSession], task_ids: Sequence[str], *states: TaskRunState
) -> list[TaskRun]:
    async def there() -> bool:
        found = await runs(sessions, *task_ids)
        return len(found) == len(task_ids) and all(run.state in states for run in found)

    await wait_until(there, f"runs {task_ids} in {states}", seconds=30)
    return await runs(sessions, *task_ids)


async def test_each_run_is_recorded_with_its_times_and_a_failure_without_personal_data(
    embedded: TaskiqTaskQueue, sessions: async_sessionmaker[AsyncSession]
) -> None:
    expiring = await embedded.enqueue("expire_discounts")
    greeting = await embedded.enqueue("test_greet_badly")

    done, failed = await until_states(
        sessions, [expiring, greeting], TaskRunState.SUCCEEDED, TaskRunState.FAILED
    )

    assert (done.task, done.state, done.attempts) == ("expire_discounts", TaskRunState.SUCCEEDED, 1)
    assert done.queued_at <= (done.started_at or done.queued_at) <= (done.finished_at or utcnow())
    assert (done.error_type, done.error, done.arguments) == (None, None, {})
    assert done.worker
    assert (failed.state, failed.error_type) == (TaskRunState.FAILED, "RuntimeError")
    assert failed.error is not None and failed.error.startswith("could not greet [redacted]")
    for secret in PERSONAL:
        assert secret not in failed.error, secret
    assert failed.arguments is None  # not a task anyone may send again


def test_a_failure_keeps_its_class_and_a_scrubbed_message_no_longer_than_its_column() -> None:
    long = failure_of(ValueError("Иван " * 400))
    assert (long.type, len(long.message)) == ("ValueError", 500)
    assert "Иван" not in long.message
    sql = failure_of(
        RuntimeError(
            "(asyncmy.errors.IntegrityError) (1062, 'Duplicate entry')\n"
            "[SQL: INSERT INTO customers (phone) VALUES (%s)]\n[parameters: ('+79145550199',)]"
        )
    )
    assert sql.message == "(asyncmy.errors.IntegrityError) (1062, 'Duplicate entry')"
    assert failure_of(KeyError("first_name")).message == "'first_name'"


async def test_a_task_waiting_in_the_stream_shows_as_queued_until_a_worker_runs_it(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await require_redis(REDIS_URL)
    queue_name = f"dvorik:test:{uuid.uuid4().hex}"
    api = TaskiqTaskQueue(create_broker(REDIS_URL, queue_name=queue_name))
    api.broker.add_middlewares(QueuedRuns(sessions))
    worker = create_broker(REDIS_URL, queue_name=queue_name, consumer="worker-1")
    runtime = Runtime.start(settings_for(engine))
    worker.state.runtime = runtime
    stop = asyncio.Event()
    try:
        task_id = await api.enqueue("expire_discounts")
        (waiting,) = await until_states(sessions, [task_id], TaskRunState.QUEUED)
        assert (waiting.attempts, waiting.started_at, waiting.arguments) == (0, None, {})

        running = asyncio.create_task(run_worker(worker, stop, grace_seconds=5))
        (ran,) = await until_states(sessions, [task_id], TaskRunState.SUCCEEDED)
    finally:
        stop.set()
        if "running" in locals():
            await asyncio.wait_for(running, 20)
        await api.close()
        await runtime.stop()
        async with Redis.from_url(REDIS_URL) as redis:
            await redis.delete(queue_name)
    assert ran.queued_at == waiting.queued_at  # the sender's stamp travelled with the task
    assert ran.started_at is not None and ran.started_at >= ran.queued_at
    assert ran.attempts == 1


async def test_a_database_that_does_not_answer_costs_records_never_a_task(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """The run records go to a server that accepts connections and never says a word."""
    caplog.set_level(logging.WARNING, "dvorik.tasks")
    silent = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    runtime = Runtime.start(
        settings_for(engine, database_url=f"mysql+asyncmy://root@127.0.0.1:{port}/dvorik")
    )
    queue = runtime.tasks
    assert isinstance(queue, TaskiqTaskQueue)
    queue.broker.register_task(quick, task_name="test_quick")
    try:
        async with run_embedded(runtime, schedule=False):
            loop = asyncio.get_running_loop()
            started = loop.time()
            task_id = await queue.enqueue("test_quick")
            await queue.wait_idle()
            took = loop.time() - started
            result = await queue.broker.result_backend.get_result(task_id)

            async def logged() -> bool:
                return "could not record a task run" in caplog.text

            await wait_until(logged, "the lost record logged", seconds=30)
    finally:
        await runtime.stop()
        silent.close()
    assert (result.is_err, result.return_value) == (False, 1)
    assert took < 1.0  # far below a record's 5 s: the task never waited for one
    # Three records lost (queued, running, succeeded): said once by each recorder of the
    # process (the sending side's and the running side's), not once per record.
    assert caplog.text.count("could not record a task run") == 2


async def test_the_hourly_clean_up_keeps_the_task_runs_of_the_last_days_only(
    embedded: TaskiqTaskQueue, sessions: async_sessionmaker[AsyncSession]
) -> None:
    now = utcnow()
    old = now - timedelta(days=8)
    rows = [
        {"task_id": uuid.uuid4().hex, "task": "test_old", "state": TaskRunState.SUCCEEDED}
        | {"queued_at": old, "attempts": 1}
        for _ in range(2_500)
    ] + [
        {"task_id": uuid.uuid4().hex, "task": "test_recent", "state": TaskRunState.FAILED}
        | {"queued_at": now - timedelta(days=6), "attempts": 1}
        for _ in range(10)
    ]
    async with sessions() as session, session.begin():
        await session.execute(insert(TaskRun), rows)

    task_id = await embedded.enqueue("forget_old_records")
    await embedded.wait_idle()
    result = await embedded.broker.result_backend.get_result(task_id)
    dropped = cast(dict[str, int], result.return_value)

    assert dropped["task_runs"] == 2_500
    assert set(dropped.values()) == {0, 2_500}  # nothing else to drop
    async with sessions() as session:
        counted = await session.execute(select(TaskRun.task, func.count()).group_by(TaskRun.task))
        left = {task: count for task, count in counted}
    assert left.pop("test_recent") == 10
    assert "test_old" not in left  # the rest: the clean-up's own run, a scheduled minute's
