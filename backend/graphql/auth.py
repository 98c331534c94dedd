"""Signing in and out of the admin API."""

import datetime as dt

import strawberry
from strawberry.types import Info

from backend.domain import admins, sign_in
from backend.domain import models as m
from backend.domain.errors import Unauthenticated
from backend.graphql import socket_sign_outs, tokens
from backend.graphql.permissions import allow
from backend.graphql.staff import Admin


@strawberry.type(description="Send `token` as `Authorization: Bearer <token>`.")
class Session:
    token: str
    expires_at: dt.datetime
    admin: Admin


def _session_for(info: Info, admin_row: m.Admin) -> Session:
    issued = tokens.issue(
        admin_row, secret=info.context.settings.secret("jwt_secret_key"), now=info.context.now()
    )
    return Session(token=issued.token, expires_at=issued.expires_at, admin=Admin.of(admin_row))


@strawberry.type
class AuthQueries:
    @strawberry.field(permission_classes=allow("Query.me"))
    async def me(self, info: Info) -> Admin:
        return Admin.of(await info.context.require_admin())


@strawberry.type
class AuthMutations:
    @strawberry.mutation(
        permission_classes=allow("Mutation.login"),
        description=(
            "THROTTLED (with `retry_after_seconds`) after 20 failures from one IP or 50"
            " from its /24 (/64) in 15 minutes, and with growing delays after 5 failures"
            " for one email from one range. Other places are never slowed."
        ),
    )
    async def login(self, info: Info, email: str, password: str) -> Session:
        # The peer address; behind a proxy listed in TRUSTED_PROXIES the app's
        # proxy-headers middleware has already put the client's own there.
        client = info.context.request.client if info.context.request else None
        admin = await sign_in.sign_in(
            info.context.runtime.sessions,
            email,
            password,
            client_ip=client.host if client else "",
            now=info.context.now(),
            read_sessions=info.context.runtime.read_sessions,
        )
        return _session_for(info, admin)

    @strawberry.mutation(
        permission_classes=allow("Mutation.loginWithToken"),
        description="Exchange a one-time login link token (from the bot or the CLI).",
    )
    async def login_with_token(self, info: Info, token: str) -> Session:
        async with info.context.transaction() as session:
            admin = await admins.consume_login_token(session, token, now=info.context.now())
        return _session_for(info, admin)

    @strawberry.mutation(
        permission_classes=allow("Mutation.logout"),
        description="Revoke the token this request was made with; its open WebSockets"
        " close with 4403.",
    )
    async def logout(self, info: Info) -> bool:
        claims = info.context.claims
        if claims is None:
            raise Unauthenticated("no token to revoke")
        async with info.context.transaction() as session:
            await sign_in.revoke(session, claims.jti, expires_at=claims.expires_at)
        # Its open sockets, in whichever API process, close with 4403 now.
        await socket_sign_outs.announce(info.context.runtime.pubsub, jti=claims.jti)
        return True


ROOTS = {"query": AuthQueries, "mutation": AuthMutations}
