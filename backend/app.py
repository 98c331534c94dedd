"""The HTTP application: GraphQL for the admin SPA, REST only for operations.

Everything a request needs is built once in the lifespan (`Runtime`), so
importing this module touches no database and a misconfigured process fails
at start-up with one clear line.

Operations: every request gets an id (`X-Request-ID`), a structured log line
and a duration in `/metrics` (`backend.observability`); `/metrics` and
`/internal/*` need INTERNAL_API_KEY.

Bounded input (docs/reliability.md): request bodies have a ceiling per route
(`backend.body_limits`), WebSockets a cap per client address and a wait for
`connection_init` (`backend.socket_limits`), and the client address is the
direct peer unless that peer is a proxy listed in TRUSTED_PROXIES; then it is
the address the proxy puts in `X-Forwarded-For`. This is the one rule: `dvorik
serve` runs uvicorn without its own proxy handling.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from backend.body_limits import BodyLimits, limits_for
from backend.bots import webhook_setup, webhooks
from backend.bots.dispatchers import create_bot_apps
from backend.domain.database import database_state
from backend.domain.errors import DomainError, ErrorCode
from backend.graphql import tokens
from backend.graphql.context import get_context
from backend.graphql.ide import LocalGraphiQLRouter, mount_assets
from backend.graphql.schema import create_schema
from backend.observability.logging import configure_logging
from backend.observability.metrics import exposition
from backend.observability.queue_depth import refresh_queue_depth
from backend.observability.requests import REQUEST_ID_HEADER, RequestObservability
from backend.pubsub import RedisPubSub
from backend.runtime import Runtime
from backend.settings import Settings, get_settings
from backend.socket_limits import CONNECTION_INIT_WAIT, SocketsPerAddress
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
        configure_logging(config)
        runtime = Runtime.start(config)
        app.state.runtime = runtime
        app.state.bot_apps = bot_apps = create_bot_apps(runtime)
        try:
            # Without REDIS_URL this process also runs the tasks and the schedule.
            async with run_embedded(runtime):
                yield
        finally:
            if bot_apps is not None:
                await bot_apps.close()
            await runtime.stop()

    app = FastAPI(
        title="Dvorik",
        summary="Loyalty and communication system of «Мармеладный Дворик»",
        version="0.1.0",
        # Off in production unless API_DOCS=true; app.openapi() works either way.
        docs_url="/api/docs" if config.api_docs_enabled else None,
        redoc_url="/api/redoc" if config.api_docs_enabled else None,
        openapi_url="/api/openapi.json" if config.api_docs_enabled else None,
        lifespan=lifespan,
    )
    # Each add_middleware wraps what is there: the first added runs innermost.
    app.add_middleware(
        BodyLimits, limits=limits_for(config.graphql_max_body_bytes, config.webhook_max_body_bytes)
    )
    app.add_middleware(SocketsPerAddress, limit=config.websocket_max_per_ip)
    if config.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=config.allowed_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER],
        )
    app.add_middleware(RequestObservability)  # outermost but one: sees every request
    proxies = trusted_proxies(config)
    if proxies:  # outermost: every layer inside sees the client's own address
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)
    graphql = LocalGraphiQLRouter(
        create_schema(introspection=config.ide_enabled),
        path="/graphql",  # not a prefix: the route itself carries its template for /metrics
        context_getter=get_context,
        graphql_ide="graphiql" if config.ide_enabled else None,
        allow_queries_via_get=False,
        allowed_origins=config.allowed_origins,
        # Only the protocol that has a connection_init wait (the legacy one has none).
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        connection_init_wait_timeout=CONNECTION_INIT_WAIT,
    )
    app.include_router(graphql, include_in_schema=False)
    if config.ide_enabled:
        mount_assets(app)
    app.include_router(webhooks.router)

    @app.get(
        "/health",
        tags=["operations"],
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

    @app.get(
        "/ready",
        tags=["operations"],
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
        return JSONResponse({"ready": is_ready, **checks}, status_code=200 if is_ready else 503)

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics of this process (X-API-Key or Bearer INTERNAL_API_KEY)",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}}, **UNAUTHORIZED},
    )
    async def metrics(
        request: Request, api_key: ApiKey = None, authorization: Authorization = None
    ) -> Response:
        _internal(request, api_key or tokens.bearer(authorization))
        await refresh_queue_depth(request.app.state.runtime.tasks)
        body, content_type = exposition()
        return Response(body, media_type=content_type)

    @app.post(
        "/internal/set-webhooks",
        tags=["operations"],
        summary="Register both bots",
        responses=UNAUTHORIZED,
    )
    async def set_webhooks(request: Request, api_key: ApiKey = None) -> JSONResponse:
        settings_in_use = _internal(request, api_key)
        return JSONResponse(await webhook_setup.set_webhooks(settings_in_use))

    @app.get(
        "/internal/webhook-info",
        tags=["operations"],
        summary="What Telegram has",
        responses=UNAUTHORIZED,
    )
    async def webhook_info(request: Request, api_key: ApiKey = None) -> JSONResponse:
        settings_in_use = _internal(request, api_key)
        return JSONResponse(await webhook_setup.webhook_info(settings_in_use))

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, error: DomainError) -> JSONResponse:
        status = 409 if error.code is ErrorCode.CONFLICT else 400
        return JSONResponse({"error": error.message, "code": error.code.value}, status_code=status)

    return app


def trusted_proxies(settings: Settings) -> list[str]:
    """TRUSTED_PROXIES as uvicorn's middleware takes it: IPs and CIDR ranges, blanks dropped."""
    return [entry.strip() for entry in settings.trusted_proxies.split(",") if entry.strip()]


ApiKey = Annotated[str | None, Header(alias="X-API-Key")]
Authorization = Annotated[str | None, Header(alias="Authorization")]
UNAUTHORIZED: dict[int | str, dict[str, object]] = {
    401: {"description": "Missing or wrong INTERNAL_API_KEY"}
}


def _internal(request: Request, api_key: str | None) -> Settings:
    """Internal endpoints need X-API-Key = INTERNAL_API_KEY, compared in constant time.

    `/metrics` also takes the key as a bearer token: Prometheus sends
    `Authorization: Bearer …` from its scrape config (`authorization.credentials_file`).
    """
    runtime: Runtime = request.app.state.runtime
    expected = runtime.settings.secret("internal_api_key").encode()
    if api_key is None or not hmac.compare_digest(api_key.encode(), expected):
        raise HTTPException(status_code=401, detail="missing or wrong X-API-Key")
    return runtime.settings
