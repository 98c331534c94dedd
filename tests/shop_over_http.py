"""A running `dvorik serve` as the admin SPA and a viewer's socket talk to it (fault tests).

`Api` posts GraphQL with a bearer token and reads `/ready`; `watch_progress`
follows a broadcast over the GraphQL subscription until it completes.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

PROTOCOL = Subprotocol("graphql-transport-ws")
CREATE = """
mutation($title: String!, $text: String!) {
  createBroadcast(input: {title: $title, text: $text}) { id }
}
"""
SEND_NOW = "mutation($id: Int!) { sendBroadcastNow(id: $id) { id status } }"
PROGRESS = "subscription($id: Int!) { broadcastProgress(id: $id) { status sent pending } }"


class Api:
    """The API process over HTTP, as the admin SPA talks to it."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.token = token

    async def graphql(self, query: str, **variables: Any) -> tuple[int, dict[str, Any]]:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        return response.status_code, response.json()

    async def ready_body(self) -> dict[str, Any]:
        """/ready's body, checked to agree with its status (200 ready, 503 not)."""
        response = await self.http.get("/ready")
        assert response.status_code in (200, 503), response.text
        body: dict[str, Any] = response.json()
        assert (response.status_code == 200) == body["ready"], body
        return body

    async def ready(self) -> bool:
        return bool((await self.ready_body())["ready"])

    async def create_broadcast(self, title: str, text: str) -> int:
        status, body = await self.graphql(CREATE, title=title, text=text)
        assert status == 200 and not body.get("errors"), body
        return int(body["data"]["createBroadcast"]["id"])


async def watch_progress(
    base_url: str, token: str, broadcast_id: int, seen: list[dict[str, Any]]
) -> None:
    """A subscriber on the broadcast's progress; returns when it sees the broadcast completed."""
    url = base_url.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=[PROTOCOL]) as socket:
        await socket.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        )
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": PROGRESS, "variables": {"id": broadcast_id}},
                }
            )
        )
        while True:
            message = json.loads(await socket.recv())
            if message["type"] == "ping":
                await socket.send(json.dumps({"type": "pong"}))
                continue
            assert message["type"] == "next", message
            assert "errors" not in message["payload"], message
            progress = message["payload"]["data"]["broadcastProgress"]
            seen.append(progress)
            if progress["status"] == "COMPLETED":
                return
