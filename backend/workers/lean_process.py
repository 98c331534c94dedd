"""What a worker or scheduler process never imports, kept out before anything asks.

`taskiq_dependencies` imports FastAPI whenever it is installed, so that
FastAPI's `Depends` can be mixed with Taskiq's in one task. Ours never are:
in a worker FastAPI, Starlette, their models and OpenTelemetry's API were
6.5 MB of resident memory used by nothing (issue 19: the worker's 300 MB
budget, with 20% to spare). A `None` in `sys.modules` makes that optional
import fail the way an uninstalled FastAPI would, and anything else that
reached for FastAPI in a worker would fail loudly at start-up, which
`tests/ops/test_worker_memory.py` runs.

Only the worker and scheduler commands call this, first thing: the API and
the embedded mode (tasks run inside the API) use FastAPI, and a test process
imports whatever it likes.
"""

from __future__ import annotations

import sys
from typing import Final

NOT_IN_A_WORKER: Final = ("fastapi", "aiogram")


def keep_out_of_this_process(names: tuple[str, ...] = NOT_IN_A_WORKER) -> None:
    """Make `import <name>` fail in this process for each name not already imported."""
    for name in names:
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]
