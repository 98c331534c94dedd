"""A worker carries only what it uses: no Strawberry, no graphql-core, start-up garbage given back.

Issue 19 gives the broadcast worker 300 MB (with 20% to spare). Sentry's
Strawberry integration, imported at the top of the error tracking module,
brought Strawberry and graphql-core into every worker (about 9 MB resident
at start, never used there); the API alone loads the web integrations now.
Start-up garbage (aiogram's 130 MB of pydantic models leave some behind) is
handed back to the system with `malloc_trim` once start-up is done.

Each check runs in a fresh interpreter, as a worker starts.
"""

from __future__ import annotations

import json
import subprocess
import sys

WORKER_START = """
import json, sys, gc
import backend.cli
from backend.workers.worker import run_worker
from backend.observability.error_tracking import integrations
names = sorted(type(i).identifier for i in integrations("worker"))
loaded = sorted(m for m in ("strawberry", "graphql") if m in sys.modules)
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
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_worker_loads_neither_strawberry_nor_graphql_core_and_gives_back_its_garbage() -> None:
    worker = _in_a_fresh_interpreter(WORKER_START)
    assert worker["loaded"] == [], worker  # nothing of the API's stack
    assert worker["names"] == ["aiohttp", "logging", "sqlalchemy"], worker
    assert isinstance(worker["frozen"], int) and worker["frozen"] > 100_000, worker
    before, after = worker["before"], worker["after"]
    assert isinstance(before, int) and isinstance(after, int)
    assert after <= before, worker  # the trim never grows it; how much it frees varies
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
