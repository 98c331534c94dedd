"""A worker process's start and stop: what Taskiq's WORKER_STARTUP and WORKER_SHUTDOWN build.

One `Runtime` per worker process, unless one was handed in (the embedded
mode puts the API's own there), the send limiter and broadcast runs shared by
the process's tasks, and, where `sweeps` is set (`run_worker`,
`run_embedded`), the sweep for broadcasts nobody sends.
"""

from __future__ import annotations

import asyncio

from taskiq import TaskiqState

from backend.redis_roles import RedisRole, role_url
from backend.runtime import Runtime
from backend.settings import get_settings
from backend.workers import sending
from backend.workers.sending import SendRateLimiter
from backend.workers.tasks.broadcast_runs import BroadcastRuns
from backend.workers.tasks.broadcasts import sweep_forever
from backend.workers.tasks.send_limiter import WorkerSendLimiter
from backend.workers.tasks.state import process_id, stopping


async def start_runtime(state: TaskiqState) -> None:
    """WORKER_STARTUP: one Runtime per worker process, unless one was handed in (embedded).

    Also the process's send-rate limiter, shared by every broadcast it sends
    (through Redis it is shared with the other workers too).
    """
    if "runtime" not in state:
        settings = state["settings"] if "settings" in state else get_settings()
        state.runtime = Runtime.start(settings, bots=False)  # sends through `customer_api`
        state.owns_runtime = True
    state_url = role_url(state.runtime.settings, RedisRole.STATE)
    if "send_limiter" not in state:
        state.send_limiter = WorkerSendLimiter(
            sending.create_send_rate_limiter(
                state_url, state.runtime.settings.broadcast_rate_override
            ),
            stopping(state),
        )
    if "broadcast_runs" not in state:
        state.broadcast_runs = BroadcastRuns(state_url)
    if "worker_id" not in state:
        state.worker_id = process_id()
    if state.get("sweeps") and "sweeper" not in state:  # `run_worker`, `run_embedded`
        state.sweeper = asyncio.create_task(
            sweep_forever(state.runtime, state.broadcast_runs, stopping(state))
        )


async def stop_runtime(state: TaskiqState) -> None:
    """WORKER_SHUTDOWN: stop what `start_runtime` built (never the API's Runtime)."""
    sweeper: asyncio.Task[None] | None = state.pop("sweeper", None)
    if sweeper is not None:
        sweeper.cancel()
        await asyncio.wait({sweeper})  # a cancel of this very task still goes on up
    limiter: SendRateLimiter | None = state.pop("send_limiter", None)
    if limiter is not None:
        await limiter.close()
    runs: BroadcastRuns | None = state.pop("broadcast_runs", None)
    if runs is not None:
        await runs.close()
    if state.pop("owns_runtime", False):
        runtime: Runtime = state.pop("runtime")
        await runtime.stop()
