"""Dashboards and alerts: every metric they read is exported, the rules hold, compose runs them.

The production shape runs as real processes (`dvorik serve` and `dvorik
worker` on MariaDB and a redis-server of the test's own, the fake Bot API
on loopback). After some traffic (GraphQL reads and errors, a broadcast the
worker sends), the API's `/metrics` is scraped with the bearer key as
Prometheus sends it, and the worker's on WORKER_METRICS_PORT. Every series
a dashboard panel or an alert rule reads must be among them, with the labels
its matchers and groupings name. Prometheus's own `up` is the one exception.

promtool (Debian's `prometheus` package) checks the rules and the scrape
config and runs the rules' unit tests (`deploy/prometheus/alerts.test.yml`);
without it the test is skipped locally and fails under CI=true.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from backend import demo_data
from backend.domain.database import create_sessionmaker
from backend.fake_telegram import FakeTelegram, create_app
from tests.api import INTERNAL_API_KEY, environment_for, serve_app, signed_in
from tests.databases import in_ci, migrated_mariadb
from tests.processes import (
    DVORIK,
    RedisServer,
    free_port,
    redis_server,
    spawn,
    terminate,
    wait_until,
    wait_until_serving,
)
from tests.promql import (
    ROOT,
    dashboard_expressions,
    grouping_labels,
    matchers,
    metric_names,
    rule_expressions,
)
from tests.telegram_world import bots_environment

PROMETHEUS_MADE = {"up"}  # series Prometheus records itself for each target
TARGET_LABELS = {"job", "instance"}  # labels Prometheus adds to every scraped series
Exported = dict[str, list[dict[str, str]]]  # series name -> the label sets it has

CREATE = 'mutation { createBroadcast(input: {title: "Неделя", text: "Привет!"}) { id } }'
SEND_NOW = "mutation($id: Int!) { sendBroadcastNow(id: $id) { id status } }"
CUSTOMERS = "query Customers { customers(first: 5) { totalCount } }"


def expressions() -> list[tuple[str, str]]:
    return [*dashboard_expressions(), *rule_expressions()]


# --- The expressions' metrics, as the tokenizer reads them ------------------------------------


def test_the_tokenizer_finds_metrics_not_functions_labels_or_keywords() -> None:
    assert metric_names(
        "histogram_quantile(0.95, sum by (le, task) "
        "(rate(dvorik_task_duration_seconds_bucket[$__rate_interval])))"
    ) == {"dvorik_task_duration_seconds_bucket"}
    assert metric_names('(sum(up{job="w"}) or vector(0)) == 0') == {"up"}
    assert metric_names("time() - last_read_timestamp_seconds > 60") == {
        "last_read_timestamp_seconds"
    }
    assert metric_names('a{x="by (b) or c"} and on (instance) b offset 5m / 1e3') == {"a", "b"}
    assert matchers('a{x="1", y=~"5.."} + a{z!="q"}')["a"][2].op == "!="
    assert grouping_labels("sum by (le, route) (x) * on (instance) group_left y") == {
        "le",
        "route",
        "instance",
    }


def test_every_panel_and_rule_reads_at_least_one_metric() -> None:
    found = expressions()
    assert len([w for w, _ in found if w.startswith("dvorik.json")]) >= 20
    assert len([w for w, _ in found if w.startswith("alerts.yml")]) >= 10
    for where, expr in found:
        assert metric_names(expr), f"{where}: no metric in {expr!r}"


# --- Every metric they read is exported by the API or the worker ------------------------------


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    async with migrated_mariadb(f"dvorik_monitoring_{os.getpid()}") as engine:
        yield engine


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path / "redis.log") as server:
        yield server


def exported(*expositions: str) -> Exported:
    series: Exported = defaultdict(list)
    for text in expositions:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                series[sample.name].append(dict(sample.labels))
    return series


def has_series(found: Exported, name: str, **labels: str) -> bool:
    return any(labels.items() <= series.items() for series in found.get(name, []))


async def scrape(http: httpx.AsyncClient, url: str, **headers: str) -> str:
    response = await http.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return response.text


def values(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (dict(s.labels), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    ]


async def test_every_metric_a_panel_or_rule_reads_is_exported(
    engine: AsyncEngine, redis: RedisServer, tmp_path: Path
) -> None:
    sessions = create_sessionmaker(engine)
    await demo_data.add_subscribers(sessions, 5)
    token = await signed_in(sessions)
    api_port, worker_port = free_port(), free_port()
    base_url = f"http://127.0.0.1:{api_port}"
    api_log, worker_log = tmp_path / "api.log", tmp_path / "worker.log"
    bearer = {"Authorization": f"Bearer {INTERNAL_API_KEY}"}  # as Prometheus sends it

    async with serve_app(create_app(FakeTelegram())) as fake_url:
        env = environment_for(engine, REDIS_URL=redis.url, **bots_environment(fake_url))
        api = spawn([*DVORIK, "serve", "--port", str(api_port)], env, api_log)
        worker_env = env | {"WORKER_METRICS_PORT": str(worker_port), "HTTP_HOST": "127.0.0.1"}
        worker = spawn([*DVORIK, "worker"], worker_env, worker_log)
        watched = [(api, api_log), (worker, worker_log)]
        try:
            await wait_until_serving(f"{base_url}/ready", api, api_log, seconds=180)
            async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
                signed = {"Authorization": f"Bearer {token}"}
                for query in (CUSTOMERS, "{ noSuchField }"):
                    await http.post("/graphql", json={"query": query}, headers=signed)
                await http.post("/graphql", json={"query": CUSTOMERS})  # UNAUTHENTICATED
                created = await http.post("/graphql", json={"query": CREATE}, headers=signed)
                broadcast_id = created.json()["data"]["createBroadcast"]["id"]
                sent = await http.post(
                    "/graphql",
                    json={"query": SEND_NOW, "variables": {"id": broadcast_id}},
                    headers=signed,
                )
                assert "errors" not in sent.json(), sent.json()
                worker_url = f"http://127.0.0.1:{worker_port}/metrics"
                texts: dict[str, str] = {}

                async def broadcast_run_counted() -> bool:
                    try:
                        texts["worker"] = await scrape(http, worker_url)
                    except httpx.TransportError:
                        return False
                    runs = values(texts["worker"], "dvorik_tasks_total")
                    ok = {"task": "process_broadcast", "outcome": "ok"}
                    return any(labels == ok and value >= 1 for labels, value in runs)

                what = "the worker counted its broadcast run"
                await wait_until(broadcast_run_counted, what, seconds=180, watch=watched, every=0.5)
                texts["api"] = await scrape(http, "/metrics", **bearer)
        finally:
            terminate(worker)
            terminate(api)

    found = exported(texts["api"], texts["worker"])
    missing = []
    for where, expr in expressions():
        names = metric_names(expr) - PROMETHEUS_MADE
        for name in names:
            if name not in found:
                missing.append(f"{where}: {name}")
                continue
            for m in matchers(expr).get(name, []):
                if m.label in TARGET_LABELS:
                    continue
                if m.op == "=" and not has_series(found, name, **{m.label: m.value}):
                    missing.append(f"{where}: {name}{{{m.label}={m.value!r}}}")
                elif not any(m.label in labels for labels in found[name]):
                    missing.append(f"{where}: {name} has no label {m.label}")
        for label in grouping_labels(expr) - TARGET_LABELS:
            if names and not any(label in s for n in names for s in found.get(n, [])):
                missing.append(f"{where}: no metric of {sorted(names)} has label {label}")
    assert not missing, "\n".join(sorted(set(missing)))

    # What the new figures say about this healthy system right now.
    api_text, worker_text = texts["api"], texts["worker"]
    assert dict((d["dependency"], v) for d, v in values(api_text, "dvorik_dependency_up")) == {
        "database": 1.0,
        "redis": 1.0,
    }
    assert values(api_text, "dvorik_broadcast_send_rate_limit") == [({}, 25.0)]  # the default
    [(_, last_read)] = values(worker_text, "dvorik_worker_last_read_timestamp_seconds")
    assert time.time() - 60 < last_read <= time.time() + 1
    assert not values(api_text, "dvorik_worker_last_read_timestamp_seconds")  # a worker's own


# --- promtool: the rules, the scrape config, the rules' unit tests ----------------------------


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        message = "promtool is not installed (Debian: apt-get install prometheus)"
        if in_ci():
            pytest.fail(message + " (CI=true)", pytrace=False)
        pytest.skip(message)
    return found


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [promtool(), *args], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_promtool_accepts_the_rules_and_the_scrape_config() -> None:
    rules = run_promtool("check", "rules", "deploy/prometheus/alerts.yml")
    assert "SUCCESS" in rules.stdout, rules.stdout
    # --syntax-only: the files it names (the key, the rules) exist only in the container.
    config = run_promtool("check", "config", "--syntax-only", "deploy/prometheus/prometheus.yml")
    assert "SUCCESS" in config.stdout, config.stdout


def test_the_alerts_fire_when_their_unit_tests_say() -> None:
    """Broadcast stalled, 429 storm (and calm), API down, database not ready, queue growing."""
    done = run_promtool("test", "rules", "deploy/prometheus/alerts.test.yml")
    assert "SUCCESS" in done.stdout, done.stdout
    tested = yaml.safe_load((ROOT / "deploy/prometheus/alerts.test.yml").read_text())
    names = {
        case["alertname"] for test in tested["tests"] for case in test.get("alert_rule_test", [])
    }
    assert {"DvorikBroadcastStalled", "DvorikTelegramFloodWaits"} <= names


# --- compose.yaml's monitoring profile --------------------------------------------------------


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return document


def mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host path of a service's bind mounts (named volumes left out)."""
    found = {}
    for volume in service.get("volumes", []):
        host, container, *_ = volume.split(":")
        if host.startswith("."):
            found[container] = ROOT / host
    return found


def test_compose_runs_prometheus_and_grafana_under_the_monitoring_profile() -> None:
    services = compose()["services"]
    assert services["prometheus"]["profiles"] == ["monitoring"]
    assert services["grafana"]["profiles"] == ["monitoring"]
    assert [n for n, s in services.items() if "profiles" not in s] == [
        "api",
        "worker",
        "scheduler",
        "mysql",
        "redis",
    ]  # a plain `docker compose up` starts what it always did
    for name in ("prometheus", "grafana"):
        for container, host in mounts(services[name]).items():
            assert host.exists(), f"{name} mounts {host} at {container}: no such file"
        assert all(port.startswith("127.0.0.1:") for port in services[name]["ports"])

    prometheus = services["prometheus"]
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    assert set(config["rule_files"]) <= set(mounts(prometheus))
    assert mounts(prometheus)["/etc/prometheus/alerts.yml"] == ROOT / "deploy/prometheus/alerts.yml"
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    key_file = jobs["dvorik-api"]["authorization"]["credentials_file"]
    assert f"> {key_file}" in " ".join(prometheus["entrypoint"])  # the entrypoint writes it
    assert prometheus["environment"]["INTERNAL_API_KEY"].startswith("${INTERNAL_API_KEY")
    api_port = services["api"]["environment"]["HTTP_PORT"]
    assert jobs["dvorik-api"]["static_configs"][0]["targets"] == [f"api:{api_port}"]
    [worker_sd] = jobs["dvorik-worker"]["dns_sd_configs"]
    assert str(worker_sd["port"]) == services["worker"]["environment"]["WORKER_METRICS_PORT"]

    grafana = mounts(services["grafana"])
    provisioning = grafana["/etc/grafana/provisioning"]
    [provider] = yaml.safe_load((provisioning / "dashboards/dvorik.yml").read_text())["providers"]
    assert grafana[provider["options"]["path"]] == ROOT / "deploy/grafana/dashboards"
    [source] = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())[
        "datasources"
    ]
    assert source["url"] == "http://prometheus:9090"
    dashboard = (ROOT / "deploy/grafana/dashboards/dvorik.json").read_text()
    assert f'"uid": "{source["uid"]}"' in dashboard
    assert dashboard.count('"uid": "') == dashboard.count(f'"uid": "{source["uid"]}"') + 1
