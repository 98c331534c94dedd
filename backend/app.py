"""The HTTP application: GraphQL for the admin SPA, REST only for operations.

Everything a request needs is built once in the lifespan (`Runtime`), so
importing this module touches no database and a misconfigured process fails
at start-up with one clear line.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from strawberry.fastapi import GraphQLRouter

from backend.bots import webhook_setup, webhooks
from backend.domain.database import database_state
from backend.domain.errors import DomainError, ErrorCode
from backend.graphql.context import get_context
from backend.graphql.schema import create_schema
from backend.pubsub import RedisPubSub
from backend.runtime import Runtime
from backend.settings import Settings, get_settings
from backend.workers.schedule import run_embedded


async def redis_state(runtime: Runtime) -> str:
    """'embedded' without REDIS_URL, else 'ok' or why Redis does not answer."""
    if not isinstance(runtime.pubsub, RedisPubSub):
        return "embedded"
    try:
        await asyncio.wait_for(runtime.pubsub.ping(), timeout=2)
    except Exception as error:  # reported, not raised: this is a readiness probe
        return f"unavailable: {type(error).__name__}"
    return "ok"


def create_app(settings: Settings | None = None) -> FastAPI:
    config = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.start(config)
        app.state.runtime = runtime
        try:
            # Without REDIS_URL this process also runs the tasks and the schedule.
            async with run_embedded(runtime):
                yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="Dvorik",
        summary="Loyalty and communication system of «Мармеладный Дворик»",
        version="0.1.0",
        docs_url="/api/docs",
        redoc_url="/api/redoc",
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    if config.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=config.allowed_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Request-Id"],
        )
    graphql = GraphQLRouter(
        create_schema(introspection=config.ide_enabled),
        context_getter=get_context,
        graphql_ide="graphiql" if config.ide_enabled else None,
        allow_queries_via_get=False,
        allowed_origins=config.allowed_origins,
    )
    app.include_router(graphql, prefix="/graphql", include_in_schema=False)
    app.include_router(webhooks.router)

    @app.get("/health", tags=["operations"], summary="Liveness and database state")
    async def health(request: Request) -> JSONResponse:
        database = await database_state(request.app.state.runtime.engine)
        healthy = database == "ok"
        return JSONResponse(
            {"status": "ok" if healthy else "degraded", "database": database},
            status_code=200 if healthy else 503,
        )

    @app.get("/ready", tags=["operations"], summary="Database and Redis reachable")
    async def ready(request: Request) -> JSONResponse:
        runtime: Runtime = request.app.state.runtime
        checks = {
            "database": await database_state(runtime.engine),
            "redis": await redis_state(runtime),
        }
        is_ready = all(value in ("ok", "embedded") for value in checks.values())
        return JSONResponse({"ready": is_ready, **checks}, status_code=200 if is_ready else 503)

    @app.post("/internal/set-webhooks", tags=["operations"], summary="Register both bots")
    async def set_webhooks(request: Request, api_key: ApiKey = None) -> JSONResponse:
        settings_in_use = _internal(request, api_key)
        return JSONResponse(await webhook_setup.set_webhooks(settings_in_use))

    @app.get("/internal/webhook-info", tags=["operations"], summary="What Telegram has")
    async def webhook_info(request: Request, api_key: ApiKey = None) -> JSONResponse:
        settings_in_use = _internal(request, api_key)
        return JSONResponse(await webhook_setup.webhook_info(settings_in_use))

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, error: DomainError) -> JSONResponse:
        status = 409 if error.code is ErrorCode.CONFLICT else 400
        return JSONResponse({"error": error.message, "code": error.code.value}, status_code=status)

    return app


ApiKey = Annotated[str | None, Header(alias="X-API-Key")]


def _internal(request: Request, api_key: str | None) -> Settings:
    """Internal endpoints need X-API-Key = INTERNAL_API_KEY, compared in constant time."""
    runtime: Runtime = request.app.state.runtime
    expected = runtime.settings.secret("internal_api_key").encode()
    if api_key is None or not hmac.compare_digest(api_key.encode(), expected):
        raise HTTPException(status_code=401, detail="missing or wrong X-API-Key")
    return runtime.settings
