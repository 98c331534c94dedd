"""The layers every request passes through before it reaches a route, and their order.

Outermost first: the proxy's `X-Forwarded-For` believed only from
TRUSTED_PROXIES (so every layer inside sees the client's own address), the
request id, log line and duration (`backend.observability`), CORS for the
SPA, the WebSocket cap per address (`backend.socket_limits`), and the body
ceiling per route (`backend.body_limits`).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from backend.body_limits import BodyLimits, limits_for
from backend.observability.requests import REQUEST_ID_HEADER, RequestObservability
from backend.settings import Settings
from backend.socket_limits import SocketsPerAddress


def add_middleware(app: FastAPI, settings: Settings) -> None:
    # Each add_middleware wraps what is there: the first added runs innermost.
    app.add_middleware(
        BodyLimits,
        limits=limits_for(settings.graphql_max_body_bytes, settings.webhook_max_body_bytes),
    )
    app.add_middleware(SocketsPerAddress, limit=settings.websocket_max_per_ip)
    if settings.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER],
        )
    app.add_middleware(RequestObservability)  # outermost but one: sees every request
    proxies = trusted_proxies(settings)
    if proxies:  # outermost: every layer inside sees the client's own address
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)


def trusted_proxies(settings: Settings) -> list[str]:
    """TRUSTED_PROXIES as uvicorn's middleware takes it: IPs and CIDR ranges, blanks dropped."""
    return [entry.strip() for entry in settings.trusted_proxies.split(",") if entry.strip()]
