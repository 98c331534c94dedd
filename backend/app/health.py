"""`/health` and `/ready`: the probes of a load balancer or an orchestrator.

Healthy means the database answers; ready means Redis answers too, when
there is one (without REDIS_URL it is "embedded"). Either is 503 otherwise,
with what failed in the body. Neither needs a key. With a read replica
(DATABASE_READ_URL), `/ready` also says how it is ("ok, behind 0.4 s",
"behind 12 s, reads on primary", "unreachable (...), reads on primary"); a
replica never makes the process unready: the primary serves every read it cannot.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from backend.domain.database import database_state
from backend.pubsub import RedisPubSub
from backend.runtime import Runtime

router = APIRouter(tags=["operations"])


@router.get(
    "/health",
    summary="Liveness and database state",
    responses={503: {"description": "The database does not answer"}},
)
async def health(request: Request) -> JSONResponse:
    database = await database_state(request.app.state.runtime.engine)
    healthy = database == "ok"
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", "database": database},
        status_code=200 if healthy else 503,
    )


@router.get(
    "/ready",
    summary="Database and Redis reachable",
    responses={503: {"description": "The database or Redis does not answer"}},
)
async def ready(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    checks = {
        "database": await database_state(runtime.engine),
        "redis": await redis_state(runtime),
    }
    is_ready = all(value in ("ok", "embedded") for value in checks.values())
    if runtime.replica is not None:
        checks["replica"] = runtime.replica.describe()
    return JSONResponse({"ready": is_ready, **checks}, status_code=200 if is_ready else 503)


async def redis_state(runtime: Runtime) -> str:
    """'embedded' without REDIS_URL, else 'ok' or why Redis does not answer."""
    if not isinstance(runtime.pubsub, RedisPubSub):
        return "embedded"
    try:
        await asyncio.wait_for(runtime.pubsub.ping(), timeout=2)
    except Exception as error:  # reported, not raised: this is a readiness probe
        return f"unavailable: {type(error).__name__}"
    return "ok"
