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

The routes live in routers named for what they serve: `/graphql`
(`graphql_endpoint`), Telegram's webhooks (`backend.bots.webhooks`), the
probes (`health`), `/metrics` and `/internal/*`, the Telegram Mini Apps under
`/app/` (`backend.mini_apps`); the layers around them in `middleware`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from backend.app import health, internal, metrics
from backend.app.graphql_endpoint import mount_graphql
from backend.app.middleware import add_middleware
from backend.bots import webhooks
from backend.bots.dispatchers import create_bot_apps
from backend.domain.errors import DomainError, ErrorCode
from backend.graphql.socket_sign_outs import SignedInSockets
from backend.heap import freeze_start_up_heap
from backend.mini_apps import mount_mini_apps
from backend.observability.error_tracking import init_error_tracking
from backend.observability.logging import configure_logging
from backend.runtime import Runtime
from backend.settings import Settings, get_settings
from backend.workers.schedule import run_embedded


def create_app(settings: Settings | None = None) -> FastAPI:
    config = settings or get_settings()
    init_error_tracking(config, "api")  # before the GraphQL schema: Strawberry's integration
    app = FastAPI(
        title="Dvorik",
        summary="Loyalty and communication system of «Мармеладный Дворик»",
        version="0.1.0",
        # Off in production unless API_DOCS=true; app.openapi() works either way.
        docs_url="/api/docs" if config.api_docs_enabled else None,
        redoc_url="/api/redoc" if config.api_docs_enabled else None,
        openapi_url="/api/openapi.json" if config.api_docs_enabled else None,
        lifespan=lifespan,
        exception_handlers={DomainError: domain_error},
    )
    app.state.settings = config
    add_middleware(app, config)
    mount_graphql(app, config)
    app.include_router(webhooks.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(internal.router)
    mount_mini_apps(app)
    return app


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The runtime and both bots' dispatchers for as long as the server runs.

    Open sockets are closed on a sign-out announced by any API process.
    """
    config: Settings = app.state.settings
    configure_logging(config)
    runtime = Runtime.start(config)
    app.state.runtime = runtime
    app.state.bot_apps = bot_apps = create_bot_apps(runtime)
    sockets: SignedInSockets = app.state.signed_in_sockets
    try:
        # Without REDIS_URL this process also runs the tasks and the schedule.
        async with (
            runtime.watching_replica(),
            sockets.listening(runtime.pubsub),
            run_embedded(runtime),
        ):
            freeze_start_up_heap()  # the long-lived heap out of every full GC (issue 19)
            yield
    finally:
        if bot_apps is not None:
            await bot_apps.close()
        await runtime.stop()


async def domain_error(_request: Request, error: DomainError) -> JSONResponse:
    """A domain refusal under a REST route: 409 for a conflict, else 400, with its code."""
    status = 409 if error.code is ErrorCode.CONFLICT else 400
    return JSONResponse({"error": error.message, "code": error.code.value}, status_code=status)
