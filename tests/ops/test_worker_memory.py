"""A worker carries only what it uses: no aiogram, no FastAPI, no Strawberry, no graphql-core.

Issue 19 gives the broadcast worker 300 MB (with 20% to spare). It was at
245 MB with a 5,000 audience and 264 MB at a million customers, and 131 MB
of it were aiogram's Telegram types. A worker sends through
`backend.telegram.bot_api` and never imports aiogram; FastAPI (which
Taskiq's dependency injection imports when it can) is kept out by
`backend.workers.lean_process`, so an import that brought either back would
stop the worker at start, and this test with it. Sentry's web integrations
load in the API alone (Strawberry and graphql-core were 9 MB of every
worker). Start-up garbage is handed back with `malloc_trim`.

Each check runs in a fresh interpreter, as `dvorik worker` starts.
"""

from __future__ import annotations

import json
import subprocess
import sys

WORKER_START = """
import json, sys, gc
from backend.workers.lean_process import keep_out_of_this_process
keep_out_of_this_process()
import backend.cli
from backend.workers.worker import run_worker
from backend.workers.tasks import register_tasks
from backend.workers.schedule import run_scheduler
from backend.observability.error_tracking import integrations
from backend.runtime import Runtime
from backend.settings import Settings
from taskiq import InMemoryBroker
register_tasks(InMemoryBroker())
runtime = Runtime.start(Settings(
    database_url="sqlite+aiosqlite://", telegram_bot_token="123456:" + "A" * 35,
    telegram_auth_bot_token="654321:" + "B" * 35), bots=False)
assert runtime.bots is None and runtime.customer_api is not None
names = sorted(type(i).identifier for i in integrations("worker"))
unused = ("strawberry", "graphql", "aiogram", "fastapi", "starlette")
loaded = sorted(m for m in unused if sys.modules.get(m) is not None)
def rss():
    return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) // 1024
before = rss()
from backend.heap import freeze_start_up_heap
frozen = freeze_start_up_heap()
print(json.dumps({"names": names, "loaded": loaded, "frozen": frozen,
                  "before": before, "after": rss()}))
"""


def _in_a_fresh_interpreter(code: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]  # e.g. "import of aiogram halted"
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_worker_loads_nothing_of_the_api_s_or_the_bots_stack_and_gives_back_its_garbage() -> None:
    worker = _in_a_fresh_interpreter(WORKER_START)
    assert worker["loaded"] == [], worker  # nothing of the API's or the bots' stack
    assert worker["names"] == ["aiohttp", "logging", "sqlalchemy"], worker
    assert isinstance(worker["frozen"], int) and worker["frozen"] > 100_000, worker
    before, after = worker["before"], worker["after"]
    assert isinstance(before, int) and isinstance(after, int)
    assert after <= before, worker  # the trim never grows it; how much it frees varies
    assert after < 150, worker  # MB: 97 here; aiogram alone would add 131
    print(f"worker at start: {before} MB, after freeze and trim: {after} MB")


def test_the_api_still_reports_fastapi_starlette_and_strawberry_errors() -> None:
    api = _in_a_fresh_interpreter(
        "import json\n"
        "from backend.observability.error_tracking import integrations\n"
        "print(json.dumps({'names': sorted(type(i).identifier for i in integrations('api'))}))"
    )
    assert api["names"] == [
        "aiohttp",
        "fastapi",
        "logging",
        "sqlalchemy",
        "starlette",
        "strawberry",
    ], api
