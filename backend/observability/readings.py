"""Figures read at scrape time, exported only by a process that reads them, while reads work.

Most metrics count what one process did. A few describe shared state that no
process holds in memory: how many broadcasts are sending and how long the
quietest has been silent, the send rate that applies (the database). The
API's `/metrics` reads them just before it answers (`backend.app.scrape`) and
records them here. A worker follows one of its own: when it last read the
task stream (`follow`, read at every collection).

A plain `Gauge` would not do: it shows 0 in every process that never reads it
(a worker, whose 0 would pull a `min()` down), and its last value after a
failed read (a stale figure that misleads). A reading is exported only by a
process that read it, and disappears when a read fails; the dependency
gauges (`dvorik_dependency_up`) say why.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Final

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class Readings(Collector):
    """Named gauges set at scrape time; a name not set (or forgotten) is not exported."""

    def __init__(self, documented: dict[str, str]) -> None:
        self.documented = documented
        self._values: dict[str, float] = {}
        self._followed: dict[str, Callable[[], float | None]] = {}
        self._lock = threading.Lock()

    def set(self, name: str, value: float) -> None:
        self._known(name)
        with self._lock:
            self._values[name] = float(value)

    def follow(self, name: str, read: Callable[[], float | None]) -> None:
        """Export `name` as `read()` says at each collection (None: not exported)."""
        self._known(name)
        with self._lock:
            self._followed[name] = read

    def forget(self, *names: str) -> None:
        """Stop exporting `names` (their read failed): no stale figure."""
        with self._lock:
            for name in names:
                self._values.pop(name, None)

    def value(self, name: str) -> float | None:
        with self._lock:
            return self._values.get(name)

    def describe(self) -> Iterable[GaugeMetricFamily]:
        """Every name, so the registry refuses another metric of the same name."""
        return [GaugeMetricFamily(name, text) for name, text in self.documented.items()]

    def collect(self) -> Iterable[GaugeMetricFamily]:
        with self._lock:
            values = dict(self._values)
            followed = dict(self._followed)
        for name, read in followed.items():
            value = read()
            if value is not None:
                values[name] = value
        return [
            GaugeMetricFamily(name, self.documented[name], value=value)
            for name, value in sorted(values.items())
        ]

    def _known(self, name: str) -> None:
        if name not in self.documented:
            raise KeyError(f"no reading is named {name!r}")


BROADCASTS_SENDING: Final = "dvorik_broadcasts_sending"
BROADCAST_SILENCE: Final = "dvorik_broadcast_silence_seconds"
SEND_RATE_LIMIT: Final = "dvorik_broadcast_send_rate_limit"
WORKER_LAST_READ: Final = "dvorik_worker_last_read_timestamp_seconds"

READINGS: Final = Readings(
    {
        BROADCASTS_SENDING: "Broadcasts in the 'sending' state (the database, read at scrape "
        "time).",
        BROADCAST_SILENCE: "Longest time in seconds a 'sending' broadcast has gone without a "
        "heartbeat of a live run or a change of state; 0 when none is sending. Runs beat "
        "every 2 s and the workers' sweep queues a broadcast again after 10 s of silence.",
        SEND_RATE_LIMIT: "The broadcast send limit in messages per second that applies now "
        "(the shop setting broadcast_send_rate_per_second, or BROADCAST_RATE_OVERRIDE).",
        WORKER_LAST_READ: "Unix time of this worker's last read of the task stream: every "
        "2 s or more often while its event loop runs and Redis answers.",
    }
)
REGISTRY.register(READINGS)
