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
"""

from __future__ import annotations

import gc


def freeze_start_up_heap() -> int:
    """Collect start-up's garbage, then freeze what is left; the number of objects frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
