"""GraphiQL with its JavaScript and CSS served by Dvorik, not by a CDN.

Strawberry's GraphiQL page loads React and GraphiQL from unpkg.com: on a
machine without internet access (or behind a strict proxy) the page stays
blank, and every visit tells a third party who works on the admin API. The
same files are vendored in `static/graphiql/` (see its README for versions
and licences) and served under `/graphql/ide/`; the page is Strawberry's own
with the CDN addresses swapped for ours, Subresource Integrity hashes kept,
and it opens on how to sign in and a KPI query (`backend.graphql.ide_welcome`).

The router is also where a WebSocket is admitted: only a `connection_init`
that carries a valid admin token gets `connection_ack` (issue 12: anonymous
sockets used to be acknowledged and held open forever), and where it is shown
out again when that token is revoked or expires (issue 17, `socket_sign_outs`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Final

from cross_web import AsyncHTTPRequestAdapter
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLRequestData
from strawberry.http.ides import get_graphql_ide_html
from strawberry.types import ExecutionResult
from strawberry.types.unset import UnsetType

from backend.domain.clock import business_date, utcnow
from backend.domain.errors import Unauthenticated
from backend.graphql import ide_welcome, trusted_documents
from backend.graphql.context import Context
from backend.graphql.socket_sign_outs import SignedInSockets, SignOutHandler
from backend.settings import Settings

log = logging.getLogger("dvorik.graphql")

ASSETS_DIR: Final = Path(__file__).parent / "static" / "graphiql"
ASSETS_PATH: Final = "/graphql/ide"
CDN: Final = "https://unpkg.com/"

# What Strawberry's page asks the CDN for -> the vendored copy of that very file.
ASSETS: Final = {
    "react@18.2.0/umd/react.production.min.js": "react.production.min.js",
    "react-dom@18.2.0/umd/react-dom.production.min.js": "react-dom.production.min.js",
    "js-cookie@3.0.5/dist/js.cookie.min.js": "js.cookie.min.js",
    "graphiql@3.8.3/graphiql.min.css": "graphiql.min.css",
    "graphiql@3.8.3/graphiql.min.js": "graphiql.min.js",
    "@graphiql/plugin-explorer@1.0.2/dist/style.css": "plugin-explorer.css",
    "@graphiql/plugin-explorer@1.0.2/dist/index.umd.js": "plugin-explorer.umd.js",
}


def graphiql_html(settings: Settings, root_path: str = "") -> str:
    """Strawberry's GraphiQL page opening on our welcome, loading its assets from this server.

    A Strawberry upgrade that asks for other versions leaves those on the CDN
    (logged here; `tests/ops/test_browser.py` fails) until they are vendored;
    one whose page `ide_welcome` cannot change keeps GraphiQL's own welcome
    (logged as an error; `tests/graphql/test_graphiql_welcome.py` fails).
    """
    html = get_graphql_ide_html(graphql_ide="graphiql")
    today = business_date(utcnow(), settings.zone)
    try:
        html = ide_welcome.apply(html, ide_welcome.welcome_text(today, settings.timezone))
    except ide_welcome.TemplateChanged as error:
        log.error("GraphiQL opens on its own welcome: %s (see %s)", error, ide_welcome.__file__)
    if not ASSETS_DIR.is_dir():  # an install without the package data: the CDN it is
        return html
    for cdn_path, name in ASSETS.items():
        html = html.replace(CDN + cdn_path, f"{root_path}{ASSETS_PATH}/{name}")
    if CDN in html:
        log.warning("GraphiQL still loads assets from %s: vendor them (see %s)", CDN, ASSETS_DIR)
    return html


class LocalGraphiQLRouter(GraphQLRouter[Any, Any]):
    """Strawberry's router: the GraphiQL page with local assets, sockets for admins only.

    Its sockets close when their token is revoked or expires (`socket_sign_outs`);
    `signed_in_sockets` knows them, and the app's lifespan has it listen for sign-outs.
    """

    graphql_transport_ws_handler_class = SignOutHandler

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.signed_in_sockets = SignedInSockets()

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        settings: Settings = request.app.state.settings
        return HTMLResponse(graphiql_html(settings, request.scope.get("root_path", "")))

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """Strawberry's reading, plus `documentId` (`trusted_documents`)."""
        data = await super().parse_http_body(request)
        if isinstance(data, GraphQLRequestData) and data.query is None and request.method == "POST":
            data = trusted_documents.from_body(data, self.parse_json(await request.get_body()))
        return data

    async def execute_single(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        """Refuses an unknown `documentId`, and ad-hoc documents where only trusted ones run."""
        refusal = await trusted_documents.refusal(kwargs["request_data"], kwargs["context"])
        if refusal is not None:
            return refusal
        return await super().execute_single(*args, **kwargs)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Acknowledge a socket only for an active admin; anyone else is closed with 4403.

        The token comes from `connection_init`'s `Authorization` (or the
        handshake's header), checked as for any request. A logout, a
        deactivation or the token's expiry later closes the socket with 4403
        (`socket_sign_outs`), and every operation on it checks the token again.
        """
        try:
            admin = await context.admin()
        except Unauthenticated:
            admin = None
        if admin is None:
            raise ConnectionRejectionError
        return UnsetType()  # the singleton: a plain connection_ack


def mount_assets(app: FastAPI) -> None:
    """Serve the vendored files (only where GraphiQL is on)."""
    if not ASSETS_DIR.is_dir():
        log.warning("%s is missing from this installation: GraphiQL loads from %s", ASSETS_DIR, CDN)
        return
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="graphiql-assets")
