"""What a task receives from its worker process: Taskiq dependencies over the broker's state.

Each worker process builds one `Runtime` at start-up (`lifecycle.start_runtime`,
on Taskiq's WORKER_STARTUP event) and keeps it in the broker's `TaskiqState`
with the process's send limiter, its broadcast runs and its stop event; in the
embedded mode the API's own runtime is put there instead. A task declares what
it needs by annotation (`runtime: WorkerRuntime`) and Taskiq hands it in.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Annotated

from taskiq import TaskiqDepends, TaskiqState

from backend.runtime import Runtime
from backend.workers.sending import SendRateLimiter
from backend.workers.tasks.broadcast_runs import BroadcastRuns

State = Annotated[TaskiqState, TaskiqDepends()]


def process_id() -> str:
    """This worker in logs and leases: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_runtime(state: State) -> Runtime:
    runtime: Runtime = state.runtime
    return runtime


def worker_id(state: State) -> str:
    return str(state.get("worker_id") or process_id())


def send_limiter(state: State) -> SendRateLimiter:
    limiter: SendRateLimiter = state.send_limiter
    return limiter


def broadcast_runs(state: State) -> BroadcastRuns:
    if "broadcast_runs" not in state:  # a broker started without our start-up handler
        state.broadcast_runs = BroadcastRuns(None)
    runs: BroadcastRuns = state.broadcast_runs
    return runs


def stopping(state: State) -> asyncio.Event:
    """Set when this process stops taking work (`run_worker`, `run_embedded` set it)."""
    if "stopping" not in state:
        state.stopping = asyncio.Event()
    event: asyncio.Event = state.stopping
    return event


WorkerRuntime = Annotated[Runtime, TaskiqDepends(worker_runtime)]
SendLimiter = Annotated[SendRateLimiter, TaskiqDepends(send_limiter)]
WorkerId = Annotated[str, TaskiqDepends(worker_id)]
Runs = Annotated[BroadcastRuns, TaskiqDepends(broadcast_runs)]
Stopping = Annotated[asyncio.Event, TaskiqDepends(stopping)]
