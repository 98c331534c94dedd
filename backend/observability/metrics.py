"""The Prometheus metrics of a Dvorik process, and the functions that record them.

Metric objects are plain module-level objects in prometheus-client's default
registry (which also carries the process collector: memory, CPU, open files),
so any module records by calling a function here, with no object to pass
around. Each process has its own figures: the API serves them on `/metrics`,
`dvorik worker` on `WORKER_METRICS_PORT`
(`start_worker_metrics`); Prometheus scrapes every process and sums.

Label values come from closed sets (route templates, error codes, outcomes) or
are capped (GraphQL operation names), so a client cannot create unbounded
series.
"""

from __future__ import annotations

import errno
import re
import threading
from collections import Counter as Tally
from collections.abc import Iterable
from typing import Final, Literal, get_args

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    start_http_server,
)

from backend.domain.errors import ErrorCode
from backend.domain.models import DiscountKind
from backend.domain.read_replica import ReadReason, ReadTarget
from backend.settings import Settings

# No `_created` twin of every series: it doubles a scrape and nobody here reads it.
disable_created_metrics()  # type: ignore[no-untyped-call]

# --- HTTP and GraphQL (recorded by the API's middleware and schema extensions) -------------

HTTP_REQUEST_DURATION: Final = Histogram(
    "dvorik_http_request_duration_seconds",
    "HTTP requests by method, route template and status code, from the first byte "
    "received to the last byte sent.",
    ["method", "route", "status"],
)
GRAPHQL_OPERATION_DURATION: Final = Histogram(
    "dvorik_graphql_operation_duration_seconds",
    "GraphQL operations by operation name and type (parse, validation and execution).",
    ["operation", "type"],
)
GRAPHQL_ERRORS: Final = Counter(
    "dvorik_graphql_errors",
    "Errors in GraphQL responses by extensions.code (INTERNAL means a bug).",
    ["code"],
)

# --- Broadcasts and sending (recorded by the sending engine in the worker) -----------------

BroadcastOutcome = Literal["sent", "failed", "blocked", "ambiguous", "retried", "released"]
BROADCAST_OUTCOMES: Final[tuple[str, ...]] = get_args(BroadcastOutcome)

BROADCAST_MESSAGES: Final = Counter(
    "dvorik_broadcast_messages",
    "Broadcast messages by outcome: sent, failed, blocked (403), ambiguous (maybe sent, "
    "never resent), retried (one more attempt after a 429, 5xx or network error), "
    "released (claimed, handed back unsent when a run stopped).",
    ["outcome"],
)
SEND_LIMITER_WAIT: Final = Histogram(
    "dvorik_send_limiter_wait_seconds",
    "How long one message waited for the send limiter (global pace, one message a second "
    "per chat, flood pauses) before its request went out.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
TELEGRAM_FLOOD_WAITS: Final = Counter(
    "dvorik_telegram_flood_waits",
    "429 Too Many Requests answers from Telegram (each pauses every sender).",
)
TELEGRAM_FLOOD_WAIT_SECONDS: Final = Counter(
    "dvorik_telegram_flood_wait_seconds",
    "Seconds of pause Telegram asked for in its 429 answers (retry_after, summed).",
)

# --- The task queue (read at scrape time, see backend.observability.queue_depth) -----------

TASK_QUEUE_DEPTH: Final = Gauge(
    "dvorik_task_queue_depth",
    "Background tasks by state: waiting (queued, no worker has taken them) and running "
    "(taken, not yet acknowledged). Absent when the queue could not be read.",
    ["state"],
)

# --- What the API checks at scrape time, and what the shop does ---------------------------

DEPENDENCY_UP: Final = Gauge(
    "dvorik_dependency_up",
    "1 if a dependency answers this process (as /ready checks it), 0 if not, read at "
    "scrape time: database, redis (absent without Redis).",
    ["dependency"],
)
REDEMPTIONS: Final = Counter(
    "dvorik_discount_redemptions",
    "Discount codes redeemed at a till, by discount kind, counted once the redemption "
    "has committed.",
    ["kind"],
)

# --- Reads and the read replica (recorded by the GraphQL context) --------------------------

DATABASE_READS: Final = Counter(
    "dvorik_database_reads",
    "Read sessions handed to GraphQL resolvers while a read replica is configured, by "
    "target (replica or primary) and reason: fresh (replica), writes (a mutation or a "
    "subscription), pinned (the admin's own recent write), pin_unknown (Redis did not "
    "answer), lagging, unreachable, failed (the replica failed a statement mid-request).",
    ["target", "reason"],
)

for _kind in DiscountKind:
    REDEMPTIONS.labels(kind=_kind.value)
for _outcome in BROADCAST_OUTCOMES:  # every series exists from the start, so rate() works
    BROADCAST_MESSAGES.labels(outcome=_outcome)
for _reason in ReadReason:
    DATABASE_READS.labels(
        target=(ReadTarget.REPLICA if _reason is ReadReason.FRESH else ReadTarget.PRIMARY).value,
        reason=_reason.value,
    )
for _code in ErrorCode:
    GRAPHQL_ERRORS.labels(code=_code.value)


def record_http_request(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUEST_DURATION.labels(method=method, route=route, status=str(status)).observe(seconds)


def record_database_read(target: ReadTarget, reason: ReadReason) -> None:
    DATABASE_READS.labels(target=target.value, reason=reason.value).inc()


def record_graphql_operation(name: str | None, kind: str, seconds: float) -> None:
    GRAPHQL_OPERATION_DURATION.labels(operation=OPERATION_NAMES.label(name), type=kind).observe(
        seconds
    )


def record_graphql_errors(codes: Iterable[str]) -> None:
    for code, count in Tally(codes).items():
        known = code if code in ErrorCode._value2member_map_ else "UNKNOWN"
        GRAPHQL_ERRORS.labels(code=known).inc(count)


def record_broadcast_outcome(outcome: str, n: int = 1) -> None:
    """Count `n` messages that ended (or were retried) as `outcome`."""
    if outcome not in BROADCAST_OUTCOMES:
        raise ValueError(f"unknown broadcast outcome {outcome!r}")
    if n < 0:
        raise ValueError("a count of messages cannot be negative")
    if n:
        BROADCAST_MESSAGES.labels(outcome=outcome).inc(n)


def record_broadcast_outcomes(outcomes: Iterable[str]) -> None:
    """Count a batch of outcomes at once (e.g. the kinds of a recorded batch)."""
    for outcome, count in Tally(outcomes).items():
        record_broadcast_outcome(outcome, count)


def record_rate_limit_wait(seconds: float) -> None:
    """One message waited `seconds` for the send limiter before going out."""
    SEND_LIMITER_WAIT.observe(max(0.0, seconds))


def record_flood_wait(retry_after: float) -> None:
    """Telegram answered 429 and asked every sender to pause `retry_after` seconds."""
    TELEGRAM_FLOOD_WAITS.inc()
    TELEGRAM_FLOOD_WAIT_SECONDS.inc(max(0.0, retry_after))


def record_dependency(dependency: str, up: bool | None) -> None:
    """Whether `dependency` answered; None drops its series (this process does not use it)."""
    if up is None:
        DEPENDENCY_UP.remove(dependency)
        return
    DEPENDENCY_UP.labels(dependency=dependency).set(1 if up else 0)


def record_redemption(kind: str) -> None:
    """A discount of `kind` was redeemed (call after the transaction committed)."""
    REDEMPTIONS.labels(kind=kind).inc()


# --- Operation names: client-chosen, so capped ----------------------------------------------


class OperationNames:
    """Operation names as labels: 'anonymous', the name, or 'other' past the cap.

    Operation names are chosen by the client; the first `limit` well-formed
    names get their own series (the SPA uses a few dozen), the rest share
    'other', so a client sending random names cannot make series without end.
    """

    PATTERN: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def label(self, name: str | None) -> str:
        if not name:
            return "anonymous"
        if not self.PATTERN.match(name):
            return "other"
        with self._lock:
            if name in self._seen:
                return name
            if len(self._seen) >= self.limit:
                return "other"
            self._seen.add(name)
        return name


OPERATION_NAMES: Final = OperationNames(limit=200)


# --- Exposition ----------------------------------------------------------------------------


def exposition() -> tuple[bytes, str]:
    """This process's metrics in the Prometheus text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


METRICS_PORTS_TRIED = 16  # WORKER_METRICS_PORT and the 15 above it


class MetricsPortTaken(Exception):
    """Every port from WORKER_METRICS_PORT up was in use: worth one line, not a traceback."""


def start_worker_metrics(settings: Settings) -> int | None:
    """Serve this process's metrics from `WORKER_METRICS_PORT` up (a daemon thread); the port.

    For `dvorik worker`, which has no HTTP app (the scheduler serves none): the
    broadcast and limiter figures are theirs. Nothing is served (None) when
    the setting is empty. The endpoint has no key, so bind it to an internal
    address (`HTTP_HOST`). Several workers on one host share the setting: each
    takes the first free port of the next `METRICS_PORTS_TRIED`, so Prometheus
    scrapes that range (deploy/prometheus) instead of the second one dying.
    """
    first = settings.worker_metrics_port
    if first is None:
        return None
    for port in range(first, min(first + METRICS_PORTS_TRIED, 65536)):
        try:
            start_http_server(port, addr=settings.http_host, registry=REGISTRY)
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            continue
        return port
    raise MetricsPortTaken(
        f"WORKER_METRICS_PORT: ports {first}-{port} on {settings.http_host} are all in use"
    )
