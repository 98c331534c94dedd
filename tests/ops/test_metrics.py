"""/metrics: what an operator's Prometheus reads, scraped over real HTTP from a real server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from backend.domain.models import AdminRole
from backend.observability.metrics import (
    OperationNames,
    record_broadcast_outcome,
    record_broadcast_outcomes,
    record_flood_wait,
    record_rate_limit_wait,
    start_worker_metrics,
)
from backend.observability.queue_depth import in_process_depth, refresh_queue_depth
from backend.settings import Settings
from backend.task_queue import CONSUMER_GROUP, TaskiqTaskQueue, create_broker
from tests.api import GraphQLClient, RunningServer
from tests.databases import redis_url, require_redis
from tests.processes import free_port

REDIS_URL = redis_url("TEST_REDIS_URL", 15)

Samples = Mapping[tuple[str, frozenset[tuple[str, str]]], float]


def api_key(server: RunningServer) -> str:
    return server.runtime.settings.secret("internal_api_key")


async def scrape(server: RunningServer) -> Samples:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get("/metrics", headers={"X-API-Key": api_key(server)})
    assert response.status_code == 200, response.text
    return parse(response.text)


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def test_metrics_are_for_operators_with_the_internal_key(server: RunningServer) -> None:
    key = api_key(server)
    async with httpx.AsyncClient(base_url=server.url) as http:
        anonymous = await http.get("/metrics")
        wrong = await http.get("/metrics", headers={"X-API-Key": "x" * 40})
        wrong_bearer = await http.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40})
        by_header = await http.get("/metrics", headers={"X-API-Key": key})
        by_bearer = await http.get("/metrics", headers={"Authorization": f"Bearer {key}"})

    assert [anonymous.status_code, wrong.status_code, wrong_bearer.status_code] == [401] * 3
    assert "dvorik_" not in anonymous.text + wrong.text + wrong_bearer.text
    assert by_header.status_code == by_bearer.status_code == 200
    assert by_header.headers["content-type"].startswith("text/plain")
    for metric in (
        "dvorik_http_request_duration_seconds",
        "dvorik_graphql_operation_duration_seconds",
        "dvorik_graphql_errors_total",
        "dvorik_broadcast_messages_total",
        "dvorik_task_queue_depth",
        "dvorik_send_limiter_wait_seconds",
        "dvorik_telegram_flood_waits_total",
        "process_resident_memory_bytes",
    ):
        assert f"# TYPE {metric} " in by_bearer.text, metric


async def test_http_requests_are_timed_by_method_route_template_and_status(
    server: RunningServer,
) -> None:
    before = await scrape(server)
    async with httpx.AsyncClient(base_url=server.url) as http:
        await http.get("/health")
        await http.get("/health")
        await http.post("/telegram/customer", json={})  # no bots configured here: 404
        await http.get("/no/such/page")
        await http.get("/graphql/ide/react.production.min.js")
    after = await scrape(server)

    def count(**labels: str) -> float:
        name = "dvorik_http_request_duration_seconds_count"
        return value(after, name, **labels) - value(before, name, **labels)

    assert count(method="GET", route="/health", status="200") == 2
    assert count(method="POST", route="/telegram/{bot_name}", status="404") == 1
    assert count(method="GET", route="unmatched", status="404") == 1  # never the raw path
    assert count(method="GET", route="/graphql/ide/{path}", status="200") == 1
    assert not any("/no/such/page" in str(labels) for _, labels in after)
    seconds = value(after, "dvorik_http_request_duration_seconds_sum", method="GET",
                    route="/health", status="200")  # fmt: skip
    assert seconds > 0


async def test_graphql_operations_are_timed_by_name_and_errors_counted_by_code(
    server: RunningServer, staff: dict[AdminRole, GraphQLClient], graphql: GraphQLClient
) -> None:
    reader = staff[AdminRole.READONLY]
    before = await scrape(server)

    dashboard = await reader(
        'query DashboardKpi { kpi(start: "2025-03-03", end: "2025-03-09") { buckets } }'
    )
    assert len(dashboard.data["kpi"]["buckets"]) == 7
    assert (await reader("{ noSuchField }")).error_code == "INVALID_QUERY"
    assert (await graphql("query Who { customers { totalCount } }")).error_code == (
        "UNAUTHENTICATED"
    )
    after = await scrape(server)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    operations = "dvorik_graphql_operation_duration_seconds_count"
    assert delta(operations, operation="DashboardKpi", type="query") == 1
    assert delta(operations, operation="Who", type="query") == 1
    assert delta(operations, operation="anonymous", type="query") == 1
    errors = "dvorik_graphql_errors_total"
    assert delta(errors, code="INVALID_QUERY") == 1
    assert delta(errors, code="UNAUTHENTICATED") == 1
    assert delta(errors, code="INTERNAL") == 0


async def test_broadcast_outcomes_and_send_limiter_waits_are_recorded(
    server: RunningServer,
) -> None:
    before = await scrape(server)
    record_broadcast_outcome("sent", 3)
    record_broadcast_outcomes(["blocked", "ambiguous", "sent", "retried"])
    record_broadcast_outcome("failed", 0)
    record_rate_limit_wait(0.4)
    record_rate_limit_wait(2.0)
    record_flood_wait(7)
    after = await scrape(server)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    messages = "dvorik_broadcast_messages_total"
    assert delta(messages, outcome="sent") == 4
    assert delta(messages, outcome="blocked") == delta(messages, outcome="ambiguous") == 1
    assert delta(messages, outcome="retried") == 1
    assert delta(messages, outcome="failed") == 0
    assert delta("dvorik_send_limiter_wait_seconds_count") == 2
    assert delta("dvorik_send_limiter_wait_seconds_sum") == pytest.approx(2.4)
    assert delta("dvorik_send_limiter_wait_seconds_bucket", le="0.5") == 1
    assert delta("dvorik_telegram_flood_waits_total") == 1
    assert delta("dvorik_telegram_flood_wait_seconds_total") == 7
    with pytest.raises(ValueError, match="unknown broadcast outcome"):
        record_broadcast_outcome("delivered")
    with pytest.raises(ValueError, match="negative"):
        record_broadcast_outcome("sent", -1)


async def test_queue_depth_in_redis_counts_waiting_and_running_tasks() -> None:
    await require_redis(REDIS_URL)
    stream = f"dvorik:test-depth:{uuid.uuid4().hex}"
    broker = create_broker(REDIS_URL, queue_name=stream, consumer="depth-test")
    queue = TaskiqTaskQueue(broker)
    redis = Redis.from_url(REDIS_URL)
    try:
        for number in range(3):
            await queue.enqueue("birthday_discounts", n=number)
        await refresh_queue_depth(queue)  # no worker has ever started: all three wait
        assert gauge("dvorik_task_queue_depth", state="waiting") == 3
        assert gauge("dvorik_task_queue_depth", state="running") == 0

        # A worker joins the group and takes one task, not yet acknowledged.
        await redis.xgroup_create(stream, CONSUMER_GROUP, id="0")
        taken: Any = await redis.xreadgroup(CONSUMER_GROUP, "worker-1", {stream: ">"}, count=1)
        await refresh_queue_depth(queue)
        assert gauge("dvorik_task_queue_depth", state="waiting") == 2
        assert gauge("dvorik_task_queue_depth", state="running") == 1

        message_id = taken[0][1][0][0]
        await redis.xack(stream, CONSUMER_GROUP, message_id)
        await refresh_queue_depth(queue)
        assert gauge("dvorik_task_queue_depth", state="running") == 0
    finally:
        await redis.delete(stream)
        await redis.aclose()
        await queue.close()


async def test_queue_depth_disappears_when_redis_does_not_answer() -> None:
    queue = TaskiqTaskQueue(create_broker("redis://127.0.0.1:1/0"))
    try:
        await refresh_queue_depth(queue)
    finally:
        await queue.close()
    assert gauge("dvorik_task_queue_depth", state="waiting") is None  # no stale figure


async def test_queue_depth_embedded_counts_tasks_still_running(server: RunningServer) -> None:
    queue = TaskiqTaskQueue(create_broker(None))
    release = asyncio.Event()

    async def waits() -> None:
        await release.wait()

    queue.broker.register_task(waits, task_name="waits")
    await queue.enqueue("waits")
    assert in_process_depth(queue) is not None
    assert in_process_depth(queue).running == 1  # type: ignore[union-attr]
    release.set()
    await queue.close()  # after the tasks still running
    assert in_process_depth(queue).running == 0  # type: ignore[union-attr]

    samples = await scrape(server)  # the embedded server reports its own queue
    assert ("dvorik_task_queue_depth", frozenset({("state", "running")})) in samples
    assert value(samples, "dvorik_task_queue_depth", state="waiting") == 0


async def test_worker_processes_serve_their_own_metrics() -> None:
    port = free_port()
    settings = Settings(_env_file=None, worker_metrics_port=port)
    assert start_worker_metrics(settings) == port
    assert start_worker_metrics(Settings(_env_file=None)) is None
    record_broadcast_outcome("sent")
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 200
    assert value(parse(response.text), "dvorik_broadcast_messages_total", outcome="sent") >= 1


def test_operation_names_are_capped_so_clients_cannot_make_series_without_end() -> None:
    names = OperationNames(limit=2)
    assert [names.label(n) for n in ("Dashboard", "Customers", "Junk1", "Dashboard")] == [
        "Dashboard",
        "Customers",
        "other",
        "Dashboard",
    ]
    assert names.label(None) == "anonymous"
    assert names.label("x" * 65) == names.label("bad name") == "other"
