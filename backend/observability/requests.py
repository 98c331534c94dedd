"""One id per HTTP request, one log line and one duration per request.

`RequestObservability` is the outermost layer of the app (a plain ASGI
middleware, so WebSockets and streamed responses pass untouched):

* the request id is the caller's `X-Request-ID` when it is a sane token (a
  proxy or the SPA may set one to follow a request across systems), else a
  fresh one; it is put in `scope["state"]` (GraphQL's context and the audit
  log read it from there), bound to every log line of the request and
  echoed in the response's `X-Request-ID`;
* the duration goes to `dvorik_http_request_duration_seconds` by method,
  route template (`/telegram/{bot_name}`, never the raw path) and status;
* an exception nothing else handled becomes a 500 that quotes the request id,
  with the traceback in the log under the same id.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.domain.errors import ErrorCode
from backend.observability.metrics import record_http_request

log = logging.getLogger("dvorik.http")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# Probes and scrapes arrive every few seconds: their lines are DEBUG, not INFO.
QUIET_ROUTES = frozenset({"/health", "/ready", "/metrics"})


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(raw: str | None) -> str:
    """The caller's id if it is 1–64 characters of [A-Za-z0-9._:-], else a fresh one.

    Anything else (spaces, newlines, quotes, a novel) could forge log lines or
    bloat the audit log, so it is not echoed.
    """
    if raw is not None and _SANE_ID.match(raw):
        return raw
    return new_request_id()


def request_id_of(connection: HTTPConnection) -> str:
    """The id `RequestObservability` gave this request (a fresh one if it did not run)."""
    state: dict[str, Any] = connection.scope.setdefault("state", {})
    request_id = state.get("request_id")
    if not isinstance(request_id, str):
        request_id = state["request_id"] = accepted_request_id(
            connection.headers.get(REQUEST_ID_HEADER)
        )
    return request_id


def route_template(scope: Scope, root_path: str = "") -> str:
    """The matched route's path template, read after routing; 'unmatched' for a 404.

    A route records itself in `scope["route"]`; a mount (static files) moves
    `root_path` instead, and is reported as `<mount>/{path}`. Raw paths are
    never labels: they are unbounded.
    """
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str) and path:
        return path
    mounted = str(scope.get("root_path", ""))
    if mounted != root_path and mounted.startswith(root_path):
        return mounted.removeprefix(root_path) + "/{path}"
    return "unmatched"


class RequestObservability:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = accepted_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        scope.setdefault("state", {})["request_id"] = request_id
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            if scope["type"] == "websocket":
                await self._websocket(scope, receive, send)
            else:
                await self._http(scope, receive, send, request_id)

    async def _http(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        started = time.perf_counter()
        root_path = str(scope.get("root_path", ""))
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception(
                "unhandled error in %s %s", scope["method"], route_template(scope, root_path)
            )
            if response_started:  # too late for a clean answer: let the server cut it
                raise
            await _internal_error(send_with_id, request_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope, root_path)
            record_http_request(scope["method"], route, status, seconds)
            log.log(
                logging.DEBUG if route in QUIET_ROUTES else logging.INFO,
                "%s %s %s",
                scope["method"],
                route,
                status,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        root_path = str(scope.get("root_path", ""))
        try:
            await self.app(scope, receive, send)
        finally:
            route = route_template(scope, root_path)
            log.info(
                "websocket %s closed",
                route,
                extra={
                    "path": scope["path"],
                    "route": route,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )


async def _internal_error(send: Send, request_id: str) -> None:
    body = json.dumps(
        {
            "error": f"Internal server error; quote request id {request_id} to support",
            "code": ErrorCode.INTERNAL.value,
            "requestId": request_id,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
