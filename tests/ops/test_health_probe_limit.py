"""A database that accepts connections but never answers: /health says so in time.

A hung server (or a network path that swallows packets) leaves a connection
open and silent. A load balancer's probe has a few seconds; the health check
must answer "unavailable" within its own limit, not wait for the driver's
connect timeout or hang with the connection.
"""

from __future__ import annotations

import asyncio
import time

from backend.domain.database import CONNECT_TIMEOUT, create_engine, database_state


async def _hold_silently(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # never greets, never answers; returns when the client gives up
    writer.close()


async def test_a_silent_database_is_reported_unavailable_within_the_probe_limit() -> None:
    silent = await asyncio.start_server(_hold_silently, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    engine = create_engine(f"mysql+asyncmy://root@127.0.0.1:{port}/dvorik")
    try:
        started = time.monotonic()
        state = await database_state(engine, within=1.0)
        took = time.monotonic() - started
    finally:
        await engine.dispose()
        silent.close()
    assert state == "unavailable: no answer within 1 s"
    assert took < CONNECT_TIMEOUT - 1, f"the probe waited {took:.1f} s"
