"""Several workers on one host with one WORKER_METRICS_PORT: each serves its metrics.

Running the production layout by hand, a second `dvorik worker` with the same
setting died with a traceback (address in use). Now each takes the next free
port of a small range, which Prometheus scrapes; only a full range stops the
worker, with one line.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx

from backend.observability.metrics import (
    METRICS_PORTS_TRIED,
    MetricsPortTaken,
    start_worker_metrics,
)
from backend.settings import Settings
from tests.processes import dvorik, environment


@contextmanager
def taken_ports(count: int) -> Iterator[int]:
    """`count` consecutive loopback ports held by listening sockets; yields the first."""
    for base in range(20000, 60000, 97):
        with ExitStack() as stack:
            try:
                for port in range(base, base + count):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
                    sock.listen()
            except OSError:
                continue
            yield base
            return
    raise AssertionError(f"no {count} consecutive free ports on loopback")


def test_a_second_worker_process_serves_its_metrics_on_the_next_port() -> None:
    with taken_ports(3) as base:
        settings = Settings(_env_file=None, worker_metrics_port=base, http_host="127.0.0.1")
    # The range is free again; two workers in one process stand for two on one host.
    first = start_worker_metrics(settings)
    second = start_worker_metrics(settings)
    assert (first, second) == (base, base + 1)
    for port in (first, second):
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 200


def test_a_worker_finding_every_metrics_port_taken_stops_with_one_line() -> None:
    with taken_ports(METRICS_PORTS_TRIED) as base:
        settings = Settings(_env_file=None, worker_metrics_port=base, http_host="127.0.0.1")
        try:
            start_worker_metrics(settings)
        except MetricsPortTaken as error:
            assert f"{base}-{base + METRICS_PORTS_TRIED - 1}" in str(error)
        else:
            raise AssertionError("a worker started metrics on a taken port")

        env = environment(
            REDIS_URL="redis://127.0.0.1:1/0",  # never reached: the port check comes first
            WORKER_METRICS_PORT=str(base),
            HTTP_HOST="127.0.0.1",
        )
        result = dvorik("worker", env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: WORKER_METRICS_PORT: ports {base}-{base + METRICS_PORTS_TRIED - 1}"
        " on 127.0.0.1 are all in use"
    )
