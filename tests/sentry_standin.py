"""A local stand-in for Sentry: accepts envelopes over HTTP, keeps what arrived.

It answers `POST /api/<project>/envelope/` as Sentry's ingestion does, undoes
the SDK's gzip, splits each envelope into its items and keeps the raw bytes
too, so a test can look for personal data in exactly what left the process.
Serve `app` with `tests.api.serve_app` and give the processes `dsn(url)`.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PUBLIC_KEY = "0123456789abcdef0123456789abcdef"
PROJECT = "42"


@dataclass
class Envelope:
    raw: bytes  # decompressed, as the SDK serialised it
    headers: dict[str, Any]
    items: list[tuple[dict[str, Any], bytes]]

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(payload) for header, payload in self.items if header["type"] == "event"]


def parse_envelope(raw: bytes) -> Envelope:
    """Envelope headers, then items: a header line, then `length` bytes (or one line)."""
    first, _, rest = raw.partition(b"\n")
    items = []
    while rest.strip():
        line, _, rest = rest.partition(b"\n")
        header = json.loads(line)
        if "length" in header:
            payload, rest = rest[: header["length"]], rest[header["length"] :]
            rest = rest.removeprefix(b"\n")
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append((header, payload))
    return Envelope(raw, json.loads(first), items)


@dataclass
class SentryStandIn:
    envelopes: list[Envelope] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # anything not an envelope of our DSN

    def dsn(self, url: str) -> str:
        """The DSN that makes an SDK send here, `url` being where `app` is served."""
        scheme, _, host = url.partition("://")
        return f"{scheme}://{PUBLIC_KEY}@{host}/{PROJECT}"

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/api/{project}/envelope/", self._receive, methods=["POST"])]
        )

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        encoding = request.headers.get("content-encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding:
            self.refused.append(f"content-encoding {encoding}")
            return Response(status_code=415)
        auth = request.headers.get("x-sentry-auth", "")
        if request.path_params["project"] != PROJECT or f"sentry_key={PUBLIC_KEY}" not in auth:
            self.refused.append(f"project {request.path_params['project']}, auth {auth!r}")
            return Response(status_code=403)
        envelope = parse_envelope(body)
        self.envelopes.append(envelope)
        return JSONResponse({"id": envelope.headers.get("event_id")})

    def events(self) -> list[dict[str, Any]]:
        return [event for envelope in self.envelopes for event in envelope.events()]

    def events_of(self, process: str) -> list[dict[str, Any]]:
        return [event for event in self.events() if event.get("tags", {}).get("process") == process]

    @property
    def raw(self) -> bytes:
        """Every byte that arrived, decompressed: where personal data must not be."""
        return b"\n".join(envelope.raw for envelope in self.envelopes)
