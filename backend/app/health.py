"""`/health` and `/ready`: the probes of a load balancer or an orchestrator.

Healthy means the database answers; ready means Redis answers too, when
there is one (without REDIS_URL it is "embedded"): every distinct Redis the
roles use (`backend.redis_roles`), each asked once, and for a Sentinel group
whichever server is its primary now. Either is 503 otherwise, with what
failed in the body ("redis" sums the roles up, "redis_roles" has each).
Neither needs a key. With a read replica (DATABASE_READ_URL), `/ready` also
says how it is ("ok, behind 0.4 s", "behind 12 s, reads on primary",
"unreachable (...), reads on primary"); a replica never makes the process
unready: the primary serves every read it cannot.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from redis.asyncio import Redis

from backend.domain.database import database_state
from backend.redis_roles import RedisRole, role_url
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
    roles = await redis_states(runtime)
    checks = {
        "database": await database_state(runtime.engine),
        "redis": summed_up(roles),
    }
    is_ready = all(value in ("ok", "embedded") for value in checks.values())
    body: dict[str, object] = {"ready": is_ready, **checks}
    if checks["redis"] != "embedded":
        body["redis_roles"] = roles
    if runtime.replica is not None:
        body["replica"] = runtime.replica.describe()
    return JSONResponse(body, status_code=200 if is_ready else 503)


async def redis_states(runtime: Runtime) -> dict[str, str]:
    """Each role's Redis: 'embedded' (none), 'ok', or why it does not answer; one ping a server."""
    urls = list(runtime.redis_probes)
    answers = await asyncio.gather(*(_ping(runtime.redis_probes[url]) for url in urls))
    by_url = dict(zip(urls, answers, strict=True))
    states = {}
    for role in RedisRole:
        url = role_url(runtime.settings, role)
        states[role.value] = "embedded" if url is None else by_url.get(url, "unavailable")
    return states


def summed_up(states: dict[str, str]) -> str:
    """'ok' or 'embedded' as every role is; else why the first failing one fails, and which."""
    failing = {role: state for role, state in states.items() if state not in ("ok", "embedded")}
    if failing:  # e.g. "unavailable: ConnectionError (queue, state)"
        return f"{next(iter(failing.values()))} ({', '.join(failing)})"
    return "ok" if "ok" in states.values() else "embedded"


async def redis_state(runtime: Runtime) -> str:
    """'embedded' without Redis, else 'ok' or which role's Redis does not answer and why."""
    return summed_up(await redis_states(runtime))


async def _ping(probe: Redis) -> str:
    try:
        await asyncio.wait_for(probe.ping(), timeout=2)
    except Exception as error:  # reported, not raised: this is a readiness probe
        return f"unavailable: {type(error).__name__}"
    return "ok"
