"""The task monitor of the admin API: an owner sees every task run, its error and its rate,
and sends a failed one again; marketing and readonly see none of it.

The tasks run on the test server's embedded broker (`dvorik serve` without
Redis), recorded by the very middlewares production uses, on SQLite and MariaDB.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain.clock import utcnow
from backend.domain.models import AdminRole, AuditEntry, BulkJob, JobState, TaskRun
from backend.task_queue import TaskiqTaskQueue
from tests.api import GraphQLClient, RunningServer
from tests.factories import make_customer
from tests.processes import wait_until

RUNS = """
query Runs($filter: TaskRunFilter, $first: Int! = 50) {
  taskRuns(filter: $filter, first: $first) {
    totalCount
    edges { node {
      id taskId task state queuedAt startedAt finishedAt attempts worker
      errorType error retryable retryOf retriedAs
    } }
  }
}
"""
STATS = """
query Stats($since: DateTime!) {
  taskStats(since: $since) { task queued running succeeded failed runsPerMinute }
}
"""
RETRY = """
mutation Retry($id: Int!) {
  retryTaskRun(id: $id) { id taskId task state retryOf }
}
"""
CUSTOMER_TAGS = "query($id: Int!) { customer(id: $id) { tags } }"
SETTLED = ("SUCCEEDED", "FAILED")


async def run_of(owner: GraphQLClient, task: str, task_id: str) -> dict[str, Any] | None:
    """The run of `task_id` as the owner's monitor lists it."""
    response = await owner(RUNS, filter={"task": task}, first=200)
    for edge in response.data["taskRuns"]["edges"]:
        if edge["node"]["taskId"] == task_id:
            node: dict[str, Any] = edge["node"]
            return node
    return None


async def run_in(owner: GraphQLClient, task: str, task_id: str, states: tuple[str, ...]) -> Any:
    """Wait until the run is in one of `states` (its record is written in the background)."""
    found: dict[str, Any] | None = None

    async def arrived() -> bool:
        nonlocal found
        found = await run_of(owner, task, task_id)
        return found is not None and found["state"] in states

    await wait_until(arrived, f"run {task_id} of {task} in {states}", seconds=30)
    return found


def queue_of(server: RunningServer) -> TaskiqTaskQueue:
    queue = server.runtime.tasks
    assert isinstance(queue, TaskiqTaskQueue)
    return queue


async def tag_vip(server: RunningServer, customer_id: int, job_key: str) -> str:
    """Queue a background tagging job, as `bulkTagCustomers` does above its threshold."""
    return await queue_of(server).enqueue(
        "bulk_add_tags",
        customer_ids=[customer_id],
        add=["vip"],
        remove=[],
        admin_id=None,
        job_id=job_key,
    )


async def test_a_failed_task_shows_its_error_to_the_owner_and_to_nobody_else(
    server: RunningServer,
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    owner = staff[AdminRole.OWNER]
    async with sessions() as session, session.begin():
        customer = await make_customer(session)
    key = uuid.uuid4().hex  # a job whose row was never written: the task fails
    task_id = await tag_vip(server, customer.id, key)

    run = await run_in(owner, "bulk_add_tags", task_id, SETTLED)

    assert (run["state"], run["errorType"]) == ("FAILED", "NotFound")
    assert run["error"] == f"job {key} does not exist"
    assert (run["attempts"], run["retryable"], run["retriedAs"]) == (1, True, None)
    queued, started, finished = (
        datetime.fromisoformat(run[name]) for name in ("queuedAt", "startedAt", "finishedAt")
    )
    assert queued <= started <= finished
    assert run["worker"]
    since = (utcnow() - timedelta(minutes=10)).isoformat()
    stats = {row["task"]: row for row in (await owner(STATS, since=since)).data["taskStats"]}
    assert stats["bulk_add_tags"]["failed"] == 1

    for role in (AdminRole.MARKETING, AdminRole.READONLY):
        for query, variables in ((RUNS, {}), (STATS, {"since": since}), (RETRY, {"id": run["id"]})):
            refused = await staff[role](query, **variables)
            assert refused.error_codes == ["FORBIDDEN"], (role, refused.body)
            assert refused.body["data"] is None
    async with sessions() as session:
        retried = await session.scalar(select(TaskRun.retried_as).where(TaskRun.id == run["id"]))
    assert retried is None  # refused retries sent nothing


async def test_a_retry_runs_the_failed_task_again_once_with_the_same_arguments(
    server: RunningServer,
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    owner = staff[AdminRole.OWNER]
    async with sessions() as session, session.begin():
        customer = await make_customer(session)
    key = uuid.uuid4().hex
    failed = await run_in(owner, "bulk_add_tags", await tag_vip(server, customer.id, key), SETTLED)
    assert failed["state"] == "FAILED"
    # What was missing is there now (the job's transaction committed late, say).
    async with sessions() as session, session.begin():
        now = utcnow()
        session.add(
            BulkJob(
                key=key,
                kind="bulk_add_tags",
                state=JobState.QUEUED,
                total=1,
                done=0,
                created_at=now,
                updated_at=now,
            )
        )

    retry = (await owner(RETRY, id=failed["id"])).data["retryTaskRun"]

    assert (retry["task"], retry["retryOf"]) == ("bulk_add_tags", failed["taskId"])
    again = await run_in(owner, "bulk_add_tags", retry["taskId"], SETTLED)
    assert (again["state"], again["error"]) == ("SUCCEEDED", None)
    assert again["retryOf"] == failed["taskId"]
    assert (await owner(CUSTOMER_TAGS, id=customer.id)).data["customer"]["tags"] == ["vip"]
    original = await run_of(owner, "bulk_add_tags", failed["taskId"])
    assert original is not None
    assert (original["state"], original["retriedAs"]) == ("FAILED", retry["taskId"])
    # A second click sends nothing more.
    twice = await owner(RETRY, id=failed["id"])
    assert twice.error_code == "INVALID_STATE"
    not_failed = await owner(RETRY, id=again["id"])
    assert not_failed.error_code == "INVALID_STATE"
    assert (await owner(RETRY, id=10**9)).error_code == "NOT_FOUND"
    async with sessions() as session:
        entries = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "task_run.retry"))
        )
    assert [(entry.entity_type, entry.entity_id) for entry in entries] == [
        ("task_run", str(failed["id"]))
    ]
    assert entries[0].after == {"retried_as": retry["taskId"]}
    assert entries[0].actor_label == "owner@dvorik.test"


async def test_a_task_not_safe_to_repeat_is_refused_and_its_arguments_are_not_kept(
    server: RunningServer,
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    owner = staff[AdminRole.OWNER]
    async with sessions() as session, session.begin():
        customer = await make_customer(session)
    # A greeting has no record of having been sent: a second run could greet twice.
    task_id = await queue_of(server).enqueue(
        "send_customer_notification",
        customer_id=customer.id,
        template_key="no_such_template",
        context={"first_name": "Зоя", "code": "9R7ZME7T"},
    )

    run = await run_in(owner, "send_customer_notification", task_id, SETTLED)

    assert (run["state"], run["errorType"], run["retryable"]) == ("FAILED", "NotFound", False)
    refused = await owner(RETRY, id=run["id"])
    assert refused.error_code == "NOT_RETRYABLE"
    async with sessions() as session:
        row = await session.scalar(select(TaskRun).where(TaskRun.task_id == task_id))
    assert row is not None
    assert (row.arguments, row.retried_as) == (None, None)


async def test_a_running_task_shows_as_running_and_the_figures_count_each_state(
    server: RunningServer, staff: dict[AdminRole, GraphQLClient]
) -> None:
    owner = staff[AdminRole.OWNER]
    release = asyncio.Event()

    async def hold() -> str:
        await release.wait()
        return "released"

    async def quick() -> int:
        return 1

    async def broken() -> None:
        raise RuntimeError("the shelf fell over")

    broker = queue_of(server).broker
    for name, function in (("test_hold", hold), ("test_quick", quick), ("test_broken", broken)):
        broker.register_task(function, task_name=name)
    queue = queue_of(server)
    since = utcnow() - timedelta(minutes=10)

    held = await queue.enqueue("test_hold")
    quick_ids = [await queue.enqueue("test_quick") for _ in range(3)]
    broken_ids = [await queue.enqueue("test_broken") for _ in range(2)]

    try:
        running = await run_in(owner, "test_hold", held, ("RUNNING",))
        assert (running["startedAt"] is not None, running["finishedAt"]) == (True, None)
        for task_id in quick_ids:
            await run_in(owner, "test_quick", task_id, SETTLED)
        for task_id in broken_ids:
            await run_in(owner, "test_broken", task_id, SETTLED)
        stats = {
            row["task"]: row
            for row in (await owner(STATS, since=since.isoformat())).data["taskStats"]
        }
    finally:
        release.set()
    listed = await owner(RUNS, filter={"task": "test_broken", "state": "FAILED"})
    assert listed.data["taskRuns"]["totalCount"] == 2

    counts = ("queued", "running", "succeeded", "failed")
    assert [stats["test_hold"][name] for name in counts] == [0, 1, 0, 0]
    assert [stats["test_quick"][name] for name in counts] == [0, 0, 3, 0]
    assert [stats["test_broken"][name] for name in counts] == [0, 0, 0, 2]
    assert stats["test_quick"]["runsPerMinute"] == pytest.approx(0.3, abs=0.01)
    assert stats["test_hold"]["runsPerMinute"] == 0
    done = await run_in(owner, "test_hold", held, SETTLED)
    assert done["state"] == "SUCCEEDED"
    future = await owner(STATS, since=(utcnow() + timedelta(minutes=1)).isoformat())
    assert future.error_code == "VALIDATION"
    assert (await owner(STATS, since="2026-01-01T00:00:00")).error_code == "VALIDATION"
