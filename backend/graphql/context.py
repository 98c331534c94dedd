"""Per-request context: who is asking, a read session, loaders, the runtime.

Authentication is lazy: the first permission check reads the bearer token
(HTTP header, or `connection_init` payload on WebSocket) and loads the admin
in one statement; the result is cached for the rest of the request. A
WebSocket is also checked once at `connection_init`, and closed with 4403
without an admin (`backend.graphql.ide.LocalGraphiQLRouter.on_ws_connect`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection
from strawberry.fastapi import BaseContext

from backend.domain import sign_in
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.errors import Unauthenticated
from backend.domain.models import Admin
from backend.graphql import tokens
from backend.graphql.loaders import Loaders, create_loaders
from backend.observability.requests import request_id_of
from backend.runtime import Runtime
from backend.task_queue import after_commit


class Context(BaseContext):
    def __init__(self, runtime: Runtime, request_id: str, authorization: str | None) -> None:
        super().__init__()
        self.runtime = runtime
        self.request_id = request_id
        self._authorization = authorization
        self._admin: Admin | None = None
        self._claims: tokens.Claims | None = None
        self._authenticated = False
        self._auth_lock = asyncio.Lock()
        self._read_sessions: list[AsyncSession] = []

    @property
    def settings(self) -> Any:
        return self.runtime.settings

    def now(self) -> datetime:
        return utcnow()

    @cached_property
    def loaders(self) -> Loaders:
        return create_loaders(self)

    async def session(self) -> AsyncSession:
        """A read session of the caller's own, closed when the request ends.

        GraphQL resolves sibling fields (and DataLoader batches) concurrently,
        and one AsyncSession must never be used by two tasks at once, so every
        resolver or batch gets its own; the pool makes that cheap.
        """
        session = self.runtime.read_sessions()
        self._read_sessions.append(session)
        return session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction of its own: commits on success, rolls back on error.

        The tasks it asks for (`enqueue_after_commit`) are sent once it has committed.
        """
        async with after_commit.transaction(self.runtime.sessions, self.runtime.tasks) as session:
            yield session

    @property
    def _long_lived(self) -> bool:
        return self.request is not None and self.request.scope.get("type") == "websocket"

    def _raw_token(self) -> str | None:
        header = self._authorization
        if header is None and isinstance(self.connection_params, dict):
            value = self.connection_params.get("Authorization") or self.connection_params.get(
                "authorization"
            )
            header = value if isinstance(value, str) else None
        return tokens.bearer(header)

    async def admin(self) -> Admin | None:
        """The signed-in admin, or None for an anonymous request.

        Checked once per HTTP request; on a WebSocket, which lives for hours,
        again for every operation, so a logout or deactivation takes effect on
        open connections too.
        """
        async with self._auth_lock:  # sibling root fields ask at the same time
            if not self._authenticated or self._long_lived:
                self._admin, self._claims = await self._authenticate()
                self._authenticated = True
        return self._admin

    @property
    def admin_so_far(self) -> Admin | None:
        """The admin `admin()` found for this operation; None if it has not been asked yet.

        For checks inside an object, which only root fields that signed the admin
        in can reach: synchronous, so a list of objects resolves without a task each.
        """
        return self._admin if self._authenticated else None

    async def _authenticate(self) -> tuple[Admin | None, tokens.Claims | None]:
        token = self._raw_token()
        if token is None:
            return None, None
        claims = tokens.decode(token, secret=self.settings.secret("jwt_secret_key"), now=self.now())
        async with self.runtime.read_sessions() as session:
            admin = await sign_in.active_admin(session, claims.admin_id, claims.jti)
        if admin is None:
            raise Unauthenticated("access token was revoked or its admin deactivated")
        return admin, claims

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
        return Actor.admin(admin.id, admin.email, self.request_id)

    async def close(self) -> None:
        for session in self._read_sessions:
            await session.close()


async def get_context(connection: HTTPConnection) -> AsyncIterator[Context]:
    """FastAPI dependency: a fresh context per HTTP request or WebSocket connection.

    Its request id is the one the HTTP layer gave the request (response header,
    log lines), so a masked internal error's id finds the traceback.
    """
    runtime: Runtime = connection.app.state.runtime
    context = Context(runtime, request_id_of(connection), connection.headers.get("authorization"))
    try:
        yield context
    finally:
        await context.close()
