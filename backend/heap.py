"""The start-up heap, frozen: the garbage collector stops walking what lives forever.

Issue 19: after start-up the API holds a few hundred thousand long-lived
objects (the schema, SQLAlchemy's mappers and compiled caches, aiogram's
routers, pydantic models). Every full (generation-2) collection walked all of
them: in one process serving the customers page, single collections took up
to 841 ms, the p99 of a 15 ms endpoint was ~300 ms. `gc.freeze()` moves them
to a permanent generation the collector skips; measured the same way, the
longest full collection fell to 34 ms and that p99 to 43 ms
(docs/benchmarks.md, issue 19). Called once, when start-up is done; what
requests allocate later is collected as before.

Start-up also leaves freed memory that the C allocator keeps: building the
pydantic models of aiogram's Telegram types alone takes 130 MB of the API's
start and frees part of it again (a worker no longer imports aiogram). On
glibc, `malloc_trim` hands the free pages back, so a process's resident
memory is what it uses (issue 19: the worker's 300 MB budget).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
from collections.abc import Callable
from functools import cache

log = logging.getLogger("dvorik.heap")


def freeze_start_up_heap() -> int:
    """Collect start-up's garbage, then freeze what is left; the number of objects frozen."""
    gc.collect()
    gc.freeze()
    give_back_free_memory()
    return gc.get_freeze_count()


def give_back_free_memory() -> bool:
    """Return the C allocator's free pages to the system; False where it cannot (not glibc)."""
    trim = _malloc_trim()
    if trim is None:
        log.debug("no malloc_trim in this C library: free memory stays with the process")
        return False
    trim(0)
    return True


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, looked up once (`find_library` runs ldconfig)."""
    name = ctypes.util.find_library("c")
    try:
        trim: Callable[[int], int] | None = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        trim = None
    return trim
