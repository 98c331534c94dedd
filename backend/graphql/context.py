"""Per-request context: who is asking, a read session, loaders, the runtime.

Authentication is lazy: the first permission check reads the bearer token
(HTTP header, or `connection_init` payload on WebSocket) and loads the admin
in one statement; the result is cached for the rest of the request.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection
from strawberry.fastapi import BaseContext

from backend.domain import sign_in
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.errors import Unauthenticated
from backend.domain.models import Admin
from backend.graphql import tokens
from backend.runtime import Runtime

if TYPE_CHECKING:
    from backend.graphql.loaders import Loaders


class Context(BaseContext):
    def __init__(self, runtime: Runtime, request_id: str, authorization: str | None) -> None:
        super().__init__()
        self.runtime = runtime
        self.request_id = request_id
        self._authorization = authorization
        self._admin: Admin | None = None
        self._claims: tokens.Claims | None = None
        self._authenticated = False
        self._read_session: AsyncSession | None = None

    @property
    def settings(self) -> Any:
        return self.runtime.settings

    def now(self) -> datetime:
        return utcnow()

    @cached_property
    def loaders(self) -> Loaders:
        from backend.graphql.loaders import create_loaders

        return create_loaders(self)

    async def session(self) -> AsyncSession:
        """One read session per request, shared by resolvers and DataLoaders."""
        if self._read_session is None:
            self._read_session = self.runtime.read_sessions()
        return self._read_session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction of its own: commits on success, rolls back on error."""
        async with self.runtime.sessions() as session, session.begin():
            yield session

    def _raw_token(self) -> str | None:
        header = self._authorization
        if header is None and isinstance(self.connection_params, dict):
            value = self.connection_params.get("Authorization") or self.connection_params.get(
                "authorization"
            )
            header = value if isinstance(value, str) else None
        return tokens.bearer(header)

    async def admin(self) -> Admin | None:
        """The signed-in admin, or None for an anonymous request."""
        if not self._authenticated:
            self._authenticated = True
            token = self._raw_token()
            if token is not None:
                claims = tokens.decode(
                    token, secret=self.settings.secret("jwt_secret_key"), now=self.now()
                )
                session = await self.session()
                admin = await sign_in.active_admin(session, claims.admin_id, claims.jti)
                await session.commit()  # a WebSocket must not hold a transaction open
                if admin is None:
                    raise Unauthenticated("access token was revoked or its admin deactivated")
                self._admin, self._claims = admin, claims
        return self._admin

    async def require_admin(self) -> Admin:
        admin = await self.admin()
        if admin is None:
            raise Unauthenticated("sign in first: send Authorization: Bearer <token>")
        return admin

    @property
    def claims(self) -> tokens.Claims | None:
        return self._claims

    async def actor(self) -> Actor:
        admin = await self.require_admin()
        return Actor.admin(admin.id, admin.email)

    async def close(self) -> None:
        if self._read_session is not None:
            await self._read_session.close()


async def get_context(connection: HTTPConnection) -> AsyncIterator[Context]:
    """FastAPI dependency: a fresh context per HTTP request or WebSocket connection."""
    runtime: Runtime = connection.app.state.runtime
    request_id = connection.headers.get("x-request-id") or uuid.uuid4().hex
    context = Context(runtime, request_id[:64], connection.headers.get("authorization"))
    try:
        yield context
    finally:
        await context.close()
