"""The HTTP application: health now, GraphQL and webhooks mount here later.

The engine is created in the lifespan, so importing this module touches no
database and a misconfigured process fails at start-up with one clear line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from backend.domain.database import create_engine, create_sessionmaker, database_state
from backend.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    config = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(config.database_url)
        app.state.engine = engine
        app.state.sessions = create_sessionmaker(engine)
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="Dvorik",
        summary="Loyalty and communication system of «Мармеладный Дворик»",
        version="0.1.0",
        docs_url="/api/docs",
        redoc_url="/api/redoc",
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = config

    @app.get("/health", tags=["operations"], summary="Liveness and database state")
    async def health(request: Request) -> JSONResponse:
        database = await database_state(request.app.state.engine)
        healthy = database == "ok"
        return JSONResponse(
            {"status": "ok" if healthy else "degraded", "database": database},
            status_code=200 if healthy else 503,
        )

    return app
