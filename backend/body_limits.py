"""Request bodies have a ceiling per route: past it, 413 and the connection is cut.

Without one, anyone could post a 100 MB "comment" to `/graphql` and the
server would hold it in memory and parse it on the event loop (issue 12:
20 MB cost 3.7 s of CPU; four 100 MB bodies took the API to 1.16 GB). So:

* a declared `Content-Length` over the limit is refused before a byte of the
  body is read (a client sending `Expect: 100-continue` never sends it);
* a body without one (chunked) or lying about it is counted as it streams in,
  and refused once the running total passes the limit; the server never holds
  more than the limit plus one chunk;
* the refusal says `Connection: close`, so uvicorn drops the connection
  instead of reading and discarding the rest of the upload.

It is a plain ASGI middleware: it sees the bytes before Starlette or
Strawberry buffers them, and a WebSocket passes untouched (uvicorn caps its
messages: `ws_max_size` in `dvorik serve`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.domain.errors import ErrorCode

GRAPHQL_PATH = "/graphql"
WEBHOOK_PREFIX = "/telegram/"


@dataclass(frozen=True)
class BodyLimit:
    """Bodies of requests whose path starts with `prefix` stop at `max_bytes`."""

    prefix: str
    max_bytes: int
    graphql_shaped: bool = False  # refuse as a GraphQL error, as the SPA reads every answer

    def refusal(self) -> bytes:
        message = f"request body larger than {self.max_bytes} bytes"
        code = ErrorCode.PAYLOAD_TOO_LARGE.value
        if self.graphql_shaped:
            body: object = {"errors": [{"message": message, "extensions": {"code": code}}]}
        else:
            body = {"error": message, "code": code}
        return json.dumps(body, separators=(",", ":")).encode()


class PayloadTooLarge(Exception):
    """Raised from `receive` once a body passes its limit; never a ValueError, so
    no handler that parses JSON mistakes it for bad input and carries on."""


def limits_for(graphql_max_bytes: int, webhook_max_bytes: int) -> list[BodyLimit]:
    """The rules of this app; every other route reads no body and gets the smaller limit."""
    return [
        BodyLimit(GRAPHQL_PATH, graphql_max_bytes, graphql_shaped=True),
        BodyLimit(WEBHOOK_PREFIX, webhook_max_bytes),
        BodyLimit("/", min(graphql_max_bytes, webhook_max_bytes)),
    ]


class BodyLimits:
    def __init__(self, app: ASGIApp, limits: Sequence[BodyLimit]) -> None:
        self.app = app
        self.limits = list(limits)

    def limit_for(self, path: str) -> BodyLimit:
        """The first rule whose prefix the path starts with (most specific first)."""
        for limit in self.limits:
            if path.startswith(limit.prefix):
                return limit
        return self.limits[-1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = declared_length(scope)
        if declared is not None and declared > limit.max_bytes:
            await refuse(send, limit)
            return

        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    raise PayloadTooLarge(limit.prefix)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except PayloadTooLarge:
            if response_started:  # an app that answers before reading: nothing to add
                raise
            await refuse(send, limit)


def declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, or None when it has none (or an unreadable one:
    uvicorn refuses those itself, and the body is counted anyway)."""
    raw = Headers(scope=scope).get("content-length")
    if raw is None or not raw.strip().isdigit():
        return None
    return int(raw)


async def refuse(send: Send, limit: BodyLimit) -> None:
    body = limit.refusal()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),  # do not read the rest of the upload
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
