"""Jobs a transaction asks for leave after its commit, never after a rollback."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain.models import Customer
from backend.domain.tasks import enqueue_after_commit
from backend.task_queue import after_commit
from tests.factories import make_customer
from tests.task_queues import RecordingTaskQueue


class Refused(Exception):
    pass


class DownQueue:
    """A queue whose broker does not answer (Redis down after the commit)."""

    async def enqueue(self, task: str, **kwargs: object) -> str:
        raise ConnectionError("Redis is down")

    async def enqueue_as(self, job_id: str, task: str, /, **kwargs: object) -> str:
        raise ConnectionError("Redis is down")


async def customers(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Customer)) or 0)


async def test_a_job_leaves_once_its_transaction_has_committed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    queue = RecordingTaskQueue()
    async with after_commit.transaction(sessions, queue) as session:
        customer = await make_customer(session)
        enqueue_after_commit(session, "greet", customer_id=customer.id)
        assert queue.enqueued == []  # not before the commit: a worker would not find the row

    assert queue.enqueued == [("greet", {"customer_id": customer.id})]
    assert await customers(sessions) == 1


async def test_a_rolled_back_transaction_sends_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    queue = RecordingTaskQueue()
    with pytest.raises(Refused):
        async with after_commit.transaction(sessions, queue) as session:
            await make_customer(session)
            enqueue_after_commit(session, "greet", customer_id=1)
            raise Refused

    assert queue.enqueued == []
    assert await customers(sessions) == 0


async def test_run_in_transaction_sends_the_jobs_of_the_work_that_committed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    queue = RecordingTaskQueue()

    async def work(session: AsyncSession) -> int:
        customer = await make_customer(session)
        enqueue_after_commit(session, "greet", customer_id=customer.id)
        return customer.id

    made = await after_commit.run_in_transaction(sessions, queue, work)

    assert queue.enqueued == [("greet", {"customer_id": made})]


async def test_a_job_outside_such_a_transaction_or_not_json_is_refused_at_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        with pytest.raises(RuntimeError, match="sends no jobs"):
            enqueue_after_commit(session, "greet", customer_id=1)
    queue = RecordingTaskQueue()
    with pytest.raises(TypeError):
        async with after_commit.transaction(sessions, queue) as session:
            enqueue_after_commit(session, "greet", when=object())
    assert queue.enqueued == []


async def test_a_lost_job_is_raised_unless_a_sweep_does_its_work(
    sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "dvorik.tasks")
    async with after_commit.transaction(sessions, DownQueue()) as session:
        enqueue_after_commit(session, "process_broadcast", broadcast_id=7)
    assert "a sweep does its work later" in caplog.text

    with pytest.raises(ConnectionError):
        async with after_commit.transaction(sessions, DownQueue()) as session:
            await make_customer(session)
            enqueue_after_commit(session, "bulk_add_tags", customer_ids=[1])
    assert await customers(sessions) == 1  # committed all the same: the caller hears of it
