"""A real Dvorik HTTP server on a free loopback port, and a small GraphQL client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from graphql import GraphQLSchema, build_schema
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from strawberry import Schema

from backend.app import create_app
from backend.bots.dispatchers import BotApps
from backend.domain.clock import utcnow
from backend.domain.models import AdminRole
from backend.graphql import tokens
from backend.runtime import Runtime
from backend.settings import Settings
from tests.factories import make_admin
from tests.processes import free_port, service_environment

JWT_SECRET = "test-secret-" + "x" * 40
INTERNAL_API_KEY = "internal-" + "k" * 40


def settings_for(engine: AsyncEngine, **overrides: Any) -> Settings:
    url = engine.url.render_as_string(hide_password=False)
    values: dict[str, Any] = {
        "database_url": url,
        "jwt_secret_key": JWT_SECRET,
        "internal_api_key": INTERNAL_API_KEY,
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)


def environment_for(engine: AsyncEngine, **settings: str) -> dict[str, str]:
    """`settings_for` as a `dvorik` process's environment (NAME=value overrides), warnings only."""
    return (
        service_environment(
            DATABASE_URL=engine.url.render_as_string(hide_password=False),
            JWT_SECRET_KEY=JWT_SECRET,
            INTERNAL_API_KEY=INTERNAL_API_KEY,
            LOG_LEVEL="WARNING",
        )
        | settings
    )


async def signed_in(
    sessions: async_sessionmaker[AsyncSession],
    role: AdminRole = AdminRole.MARKETING,
    email: str = "marketer@dvorik.test",
) -> str:
    """The bearer token of a new admin of `role` (issued directly: bcrypt is slow on purpose)."""
    async with sessions() as session, session.begin():
        admin = await make_admin(session, email=email, role=role)
    return tokens.issue(admin, secret=JWT_SECRET, now=utcnow()).token


@dataclass
class RunningServer:
    url: str
    app: FastAPI

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    @property
    def bot_apps(self) -> BotApps:
        """Both bots' dispatchers (the server must have been started with bot tokens)."""
        apps: BotApps | None = self.app.state.bot_apps
        assert apps is not None
        return apps


@asynccontextmanager
async def serve_app(app: Any) -> AsyncIterator[str]:
    """Run an ASGI app under uvicorn in this event loop; yields its base URL."""
    port = free_port()
    # As `dvorik serve`: X-Forwarded-For counts only through TRUSTED_PROXIES
    # (backend/app/middleware.py).
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", proxy_headers=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[RunningServer]:
    """Run Dvorik in this event loop (so tests can reach its runtime)."""
    app = create_app(settings)
    async with serve_app(app) as url:
        yield RunningServer(url, app)


@dataclass
class GraphQLResponse:
    status: int
    body: dict[str, Any]

    @property
    def data(self) -> Any:
        assert not self.body.get("errors"), self.body.get("errors")
        return self.body["data"]

    @property
    def error_codes(self) -> list[str]:
        return [error.get("extensions", {}).get("code") for error in self.body.get("errors", [])]

    @property
    def error_code(self) -> str:
        codes = self.error_codes
        assert len(codes) == 1, self.body
        return codes[0]


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient, token: str | None = None) -> None:
        self.http = http
        self.token = token

    def as_(self, token: str | None) -> GraphQLClient:
        return GraphQLClient(self.http, token)

    async def __call__(self, query: str, **variables: Any) -> GraphQLResponse:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        return GraphQLResponse(response.status_code, response.json())


LOGIN = """
mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) { token expiresAt admin { id email role } }
}
"""


async def login(client: GraphQLClient, email: str, password: str) -> str:
    response = await client(LOGIN, email=email, password=password)
    token: str = response.data["login"]["token"]
    return token


def graphql_core(schema: Schema) -> GraphQLSchema:
    """The graphql-core schema of `schema`, built from its SDL with public API: the types,
    fields and arguments clients see (for static checks of the schema's shape)."""
    return build_schema(schema.as_str())
