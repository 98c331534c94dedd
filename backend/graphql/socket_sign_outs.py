"""A sign-out closes the admin's open sockets at once, in whichever API process holds them.

A socket's token used to be checked at `connection_init` and at each
`subscribe` only, so after a logout a running subscription kept streaming
until the client subscribed again (issue 17). Now:

* `SignedInSockets` (one per app, on the GraphQL router) knows this process's
  sockets by the token they signed in with (its jti) and by admin.
* `logout`, and `updateAdmin(isActive: false)`, `announce` the sign-out on the
  pub/sub channel `SIGN_OUTS` once their transaction has committed: in-process
  when embedded, through Redis (the "cache" role) between API processes, so
  the process that handles the logout need not be the one holding the socket.
* Every API process listens on that channel in one task (`listening`, run by
  the app's lifespan) and closes the matching sockets with 4403.
* A socket whose token expires is closed then, by a timer of its own.

Nothing happens per progress message: a socket costs two set entries and a
timer, a sign-out one publish. A socket is watched before its token is
checked against the database (`SignOutHandler.handle_connection_init`), so a
logout committed around that moment is either seen by the check or announced
after the socket was watched. A sign-out announced while Redis is unreachable
is lost (pub/sub keeps nothing); that socket's next `subscribe` is still
refused, and its token's expiry still closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final, Protocol, TypeVar, cast

from starlette.websockets import WebSocketDisconnect
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
)

from backend.domain.clock import utcnow
from backend.graphql.context import Context
from backend.graphql.tokens import Claims
from backend.pubsub import PubSub

log = logging.getLogger("dvorik.graphql.sockets")

SIGN_OUTS: Final = "admin-sign-outs"
SIGNED_OUT: Final = 4403  # the code connection_init's refusal has: sign in again
# Seconds start-up waits, at most, for the first try to listen to succeed or fail.
LISTEN_WAIT: Final = 2.0
RETRY_MOST: Final = 5.0  # seconds between attempts to listen again, at most
Key = TypeVar("Key", str, int)


class SignedInSocket(Protocol):
    def sign_out(self, reason: str) -> None:
        """Close the socket with `SIGNED_OUT` soon; never blocks the caller."""


class SignedInSockets:
    """This process's open sockets by token id and by admin; `listening` closes signed-out ones."""

    def __init__(self) -> None:
        self._by_token: dict[str, set[SignedInSocket]] = {}
        self._by_admin: dict[int, set[SignedInSocket]] = {}

    def watch(self, socket: SignedInSocket, claims: Claims) -> None:
        self._by_token.setdefault(claims.jti, set()).add(socket)
        self._by_admin.setdefault(claims.admin_id, set()).add(socket)

    def forget(self, socket: SignedInSocket, claims: Claims) -> None:
        _discard(self._by_token, claims.jti, socket)
        _discard(self._by_admin, claims.admin_id, socket)

    def signed_out(self, message: dict[str, Any]) -> None:
        """Close the sockets a `SIGN_OUTS` message names (a token, or an admin's every token)."""
        jti, admin_id = message.get("jti"), message.get("admin_id")
        if isinstance(jti, str):
            for socket in list(self._by_token.get(jti, ())):
                socket.sign_out("Signed out")
        if isinstance(admin_id, int):
            for socket in list(self._by_admin.get(admin_id, ())):
                socket.sign_out("Admin deactivated")

    @asynccontextmanager
    async def listening(self, pubsub: PubSub) -> AsyncIterator[None]:
        """Listen on `SIGN_OUTS` while the server runs.

        Start-up waits for the first try, so sockets opened at once are covered;
        a Redis that is down fails it at once, and the server serves meanwhile.
        """
        tried = asyncio.Event()
        task = asyncio.create_task(self._listen(pubsub, tried))
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(LISTEN_WAIT):
                    await tried.wait()
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _listen(self, pubsub: PubSub, tried: asyncio.Event) -> None:
        failures = 0
        while True:
            try:
                async with pubsub.subscribe(SIGN_OUTS) as messages:
                    tried.set()
                    if failures:
                        log.warning("listening for sign-outs again")
                        failures = 0
                    async for message in messages:
                        self.signed_out(message)
                return  # the pub/sub was closed: the process is stopping
            except Exception as error:  # Redis unreachable: keep trying, never die
                tried.set()
                if not failures:
                    log.warning("cannot listen for sign-outs (%r): retrying", error)
                failures += 1
                await asyncio.sleep(min(RETRY_MOST, 0.1 * 2**failures))


def _discard(index: dict[Key, set[SignedInSocket]], key: Key, socket: SignedInSocket) -> None:
    sockets = index.get(key)
    if sockets is not None:
        sockets.discard(socket)
        if not sockets:
            del index[key]


async def announce(pubsub: PubSub, *, jti: str | None = None, admin_id: int | None = None) -> None:
    """Tell every API process that a token (or all of an admin's) no longer signs anyone in.

    Called once the change has committed; a failure only logs: the sockets are
    refused at their next `subscribe` anyway.
    """
    message: dict[str, Any] = {"jti": jti} if jti is not None else {"admin_id": admin_id}
    try:
        await pubsub.publish(SIGN_OUTS, message)
    except Exception as error:
        log.warning("could not announce a sign-out: %r", error)


class _HasSignedInSockets(Protocol):
    signed_in_sockets: SignedInSockets


class SignOutHandler(BaseGraphQLTransportWSHandler[Context, Any]):
    """Strawberry's graphql-transport-ws handler, whose socket a sign-out or expiry closes.

    Closing from outside is what Strawberry itself does when `connection_init`
    is late: `websocket.close` from another task; the receive loop then ends
    and `shutdown` cancels the operations. Running operations are cancelled
    first here, and nothing is sent or handled once signed out, so no `next`
    can follow the close.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._claims: Claims | None = None
        self._expiry: asyncio.TimerHandle | None = None
        self._closing: asyncio.Task[None] | None = None

    @property
    def _sockets(self) -> SignedInSockets:
        return cast(_HasSignedInSockets, self.view).signed_in_sockets

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload = message.get("payload", {})
        if not self.connection_init_received and isinstance(payload, dict):
            self.context.connection_params = payload
            claims = self.context.token_claims()
            if claims is not None:  # watched before on_ws_connect asks the database
                self._watch(claims)
        await super().handle_connection_init(message)

    def _watch(self, claims: Claims) -> None:
        self._claims = claims
        self._sockets.watch(self, claims)
        left = (claims.expires_at - utcnow()).total_seconds()
        self._expiry = asyncio.get_running_loop().call_later(
            max(left, 0.0), self.sign_out, "Token expired"
        )

    def sign_out(self, reason: str) -> None:
        if self._closing is None:
            self._closing = asyncio.create_task(self._close(reason))

    async def _close(self, reason: str) -> None:
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        # The client may have gone already; then there is nothing to close.
        with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
            await self.websocket.close(code=SIGNED_OUT, reason=reason)

    async def handle_message(self, message: Message) -> None:
        if self._closing is None:
            await super().handle_message(message)

    async def send_message(self, message: Message) -> None:
        if self._closing is None:
            await super().send_message(message)

    async def shutdown(self) -> None:
        if self._claims is not None:
            self._sockets.forget(self, self._claims)
        if self._expiry is not None:
            self._expiry.cancel()
        await super().shutdown()
        if self._closing is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._closing
