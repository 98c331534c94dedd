"""`/graphql`: the admin API over HTTP and WebSocket, and GraphiQL where it is enabled.

Subscriptions speak `graphql-transport-ws` only, the protocol the frontend
contract documents and the one with a wait for `connection_init`
(`backend.socket_limits`); a client asking for the legacy `graphql-ws` is
closed with 4406. Introspection and the IDE follow GRAPHQL_IDE.
"""

from __future__ import annotations

from fastapi import FastAPI
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from backend.graphql.context import get_context
from backend.graphql.ide import LocalGraphiQLRouter, mount_assets
from backend.graphql.schema import create_schema
from backend.settings import Settings
from backend.socket_limits import CONNECTION_INIT_WAIT


def graphql_router(settings: Settings) -> LocalGraphiQLRouter:
    return LocalGraphiQLRouter(
        create_schema(introspection=settings.ide_enabled),
        path="/graphql",  # not a prefix: the route itself carries its template for /metrics
        context_getter=get_context,
        graphql_ide="graphiql" if settings.ide_enabled else None,
        allow_queries_via_get=False,
        allowed_origins=settings.allowed_origins,
        # Only the protocol that has a connection_init wait (the legacy one has none).
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        connection_init_wait_timeout=CONNECTION_INIT_WAIT,
    )


def mount_graphql(app: FastAPI, settings: Settings) -> None:
    """The endpoint, and the IDE's own JavaScript and CSS when the IDE is on.

    `app.state.signed_in_sockets`: the endpoint's open sockets, which the
    lifespan has listen for sign-outs (`backend.graphql.socket_sign_outs`).
    """
    router = graphql_router(settings)
    app.include_router(router, include_in_schema=False)
    app.state.signed_in_sockets = router.signed_in_sockets
    if settings.ide_enabled:
        mount_assets(app)
