"""How many WebSockets one address may hold open, and how long a silent one may wait.

A WebSocket costs a file descriptor, a task and some memory for as long as it
is open; before issue 12 anyone could open thousands and keep them. Three
rules bound that (docs/reliability.md):

* `SocketsPerAddress`: at most WEBSOCKET_MAX_PER_IP open sockets per client
  address in this process; one more is accepted and closed at once with 4429
  ("too many open sockets from this address"), which a client can read,
  unlike a refused handshake. The address is `scope["client"]`, which is the
  real client only behind a proxy listed in TRUSTED_PROXIES (`backend.app.middleware`).
* `CONNECTION_INIT_WAIT`: a socket that sends no `connection_init` is closed
  by Strawberry with 4408 after this long (Strawberry's default is a minute).
* A `connection_init` without a valid admin token is closed with 4403
  (`backend.graphql.ide.LocalGraphiQLRouter.on_ws_connect`).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

# Clients send connection_init as soon as the socket opens (graphql-ws does); five
# seconds leave room for a slow phone network and a busy server.
CONNECTION_INIT_WAIT: Final = timedelta(seconds=5)
TOO_MANY_SOCKETS: Final = 4429


class SocketsPerAddress:
    """Count open WebSockets per client address; refuse one over `limit`."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.open: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = str(client[0]) if client else ""
        if self.open[address] >= self.limit:
            await refuse(receive, send)
            return
        self.open[address] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.open[address] -= 1
            if self.open[address] <= 0:
                del self.open[address]


async def refuse(receive: Receive, send: Send) -> None:
    """Complete the handshake only to close with a code the client can read."""
    message = await receive()
    if message["type"] != "websocket.connect":  # the client left already
        return
    await send({"type": "websocket.accept"})
    await send(
        {
            "type": "websocket.close",
            "code": TOO_MANY_SOCKETS,
            "reason": "too many open sockets from this address",
        }
    )
