"""Per-request context: who is asking, a read session, loaders, the runtime.

Reads go to the read replica (DATABASE_READ_URL) only for a query over HTTP,
and only as the rule in `backend.domain.read_replica` allows for the admin
asking; mutations, subscriptions and every operation on a WebSocket read from
the primary. `backend.graphql.read_routing` tells the context which kind of
operation runs and pins an admin's reads after their mutation. Signing in
reads the primary always, so a logout or deactivation counts at once.

Authentication is lazy: the first permission check reads the bearer token
(HTTP header, or `connection_init` payload on WebSocket) and loads the admin
in one statement; the result is cached for the rest of the request. A
WebSocket is also checked once at `connection_init`, and closed with 4403
without an admin (`backend.graphql.ide.LocalGraphiQLRouter.on_ws_connect`),
or later when its token is revoked or expires (`backend.graphql.socket_sign_outs`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection
from strawberry.fastapi import BaseContext

from backend.domain import sign_in
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.errors import Unauthenticated
from backend.domain.models import Admin
from backend.domain.read_replica import ReadReason, ReadTarget
from backend.graphql import tokens
from backend.graphql.loaders import Loaders, create_loaders
from backend.observability.metrics import record_database_read
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
        # Set by `read_routing.RouteReads` for a query; False keeps every read on the primary.
        self.may_read_replica = False
        self._route: tuple[ReadTarget, ReadReason] | None = None
        self._route_lock = asyncio.Lock()

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
        session = (await self.read_sessions())()
        self._read_sessions.append(session)
        return session

    async def read_sessions(self) -> async_sessionmaker[AsyncSession]:
        """Where this operation reads: the replica's sessions or the primary's (counted)."""
        replica = self.runtime.replica
        if replica is None:
            return self.runtime.read_sessions
        target, reason = await self._read_route()
        record_database_read(target, reason)
        return replica.sessions if target is ReadTarget.REPLICA else self.runtime.read_sessions

    async def _read_route(self) -> tuple[ReadTarget, ReadReason]:
        """Decided once per HTTP request, at its first read: all its reads see one database.

        Guarded fields sign the admin in before they resolve, so the admin whose
        pin counts is known by then.
        """
        replica = self.runtime.replica
        if replica is None or not self.may_read_replica or self._long_lived:
            return ReadTarget.PRIMARY, ReadReason.WRITES
        async with self._route_lock:
            if self._route is None:
                admin = self.admin_so_far
                self._route = await replica.route(admin.id if admin else None)
            return self._route

    async def wrote(self) -> None:
        """A mutation has finished: the admin who ran it reads from the primary for a while."""
        admin = self.admin_so_far
        if self.runtime.replica is not None and admin is not None:
            await self.runtime.replica.wrote(admin.id)

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

    def token_claims(self) -> tokens.Claims | None:
        """The bearer token's claims if its signature and expiry hold, else None.

        No database: whether it was revoked, or its admin deactivated, is
        `admin()`'s to say. For watching a socket before that check
        (`backend.graphql.socket_sign_outs`).
        """
        token = self._raw_token()
        if token is None:
            return None
        secret = self.settings.secret("jwt_secret_key")
        try:
            return tokens.decode(token, secret=secret, now=self.now())
        except Unauthenticated:
            return None

    async def admin(self) -> Admin | None:
        """The signed-in admin, or None for an anonymous request.

        Checked once per HTTP request; on a WebSocket, which lives for hours,
        again for every operation, so a logout or deactivation the socket was
        not told of (`backend.graphql.socket_sign_outs`) still counts there.
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
