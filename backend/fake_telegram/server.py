"""The fake as a real HTTP server: the Bot API for bots, `/fake/...` for whoever drives it.

Bots (aiogram, httpx, curl) point their Bot API base URL here and get
Telegram-shaped answers with matching HTTP statuses. Demos, benchmarks and
other processes act as users and inspect what bots sent through `/fake/...`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.fake_telegram.errors import BotApiError
from backend.fake_telegram.models import FakeUser, jsonable
from backend.fake_telegram.params import read_params
from backend.fake_telegram.state import FakeTelegram

T = TypeVar("T")


class ClientGone(Exception):
    """The caller hung up (e.g. a long poll cancelled); nobody reads the answer."""


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def until_disconnect(request: Request, work: Awaitable[T]) -> T:
    """Run `work` but give up when the client disconnects.

    Without this a cancelled long poll would keep its handler (and uvicorn's
    graceful shutdown) waiting for the full `timeout`.
    """
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
    if not task.done():
        task.cancel()
        raise ClientGone
    return task.result()


class UserIn(BaseModel):
    token: str
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


class TextIn(UserIn):
    text: str


class ButtonIn(UserIn):
    callback_data: str
    message_id: int


class EditIn(UserIn):
    message_id: int
    text: str


class StickerIn(UserIn):
    emoji: str = "🍬"


class UpdateIn(BaseModel):
    token: str
    update: Any


class ChatFaultIn(BaseModel):
    chat_id: int
    kind: str | int
    count: int | None = Field(default=None, ge=1)
    retry_after: int = Field(default=1, ge=1)


class RateFaultIn(BaseModel):
    kind: str | int
    probability: float = Field(ge=0, le=1)
    seed: int = 0
    retry_after: int = Field(default=1, ge=1)


class SlowIn(BaseModel):
    seconds: float = Field(ge=0)
    chat_id: int | None = None


class FaultsIn(BaseModel):
    """Any combination; `clear` first drops every fault and latency already set."""

    clear: bool = False
    chat: ChatFaultIn | None = None
    rate: RateFaultIn | None = None
    slow: SlowIn | None = None


def create_app(fake: FakeTelegram) -> FastAPI:
    app = FastAPI(
        title="Fake Telegram Bot API",
        docs_url="/fake/docs",
        openapi_url="/fake/openapi.json",
        redoc_url=None,
    )
    app.state.fake = fake

    @app.exception_handler(BotApiError)
    async def bot_api_error(request: Request, error: BotApiError) -> Response:
        return JSONResponse(error.payload(), status_code=error.error_code)

    @app.exception_handler(StarletteHTTPException)
    async def not_found(request: Request, error: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/bot"):
            return JSONResponse(
                {"ok": False, "error_code": error.status_code, "description": "Not Found"},
                status_code=404,
            )
        return JSONResponse({"detail": error.detail}, status_code=error.status_code)

    @app.api_route("/bot{token}/{method}", methods=["GET", "POST"], include_in_schema=False)
    async def bot_api(token: str, method: str, request: Request) -> Response:
        fake.bot(token)  # 401 before anything else, as Telegram does
        params = await read_params(request)
        if method.lower() != "getupdates":
            # Telegram acts on a request it has read even if the caller hangs up
            # (a worker killed mid-request): the message is sent all the same.
            result = await fake.call(token, method, params)
            return JSONResponse({"ok": True, "result": jsonable(result)})
        try:  # a long poll the caller gave up on ends at once
            result = await until_disconnect(request, fake.call(token, method, params))
        except ClientGone:
            return Response(status_code=499)
        return JSONResponse({"ok": True, "result": jsonable(result)})

    def user(user_id: int, body: UserIn) -> FakeUser:
        known = fake.chats.users.get(user_id)
        return FakeUser(
            id=user_id,
            first_name=body.first_name or (known.first_name if known else f"User {user_id}"),
            last_name=body.last_name or (known.last_name if known else None),
            username=body.username or (known.username if known else None),
            language_code=body.language_code or (known.language_code if known else "ru"),
        )

    @app.post("/fake/users/{user_id}/text")
    async def user_text(user_id: int, body: TextIn) -> Any:
        return jsonable(await fake.send_text(body.token, user(user_id, body), body.text))

    @app.post("/fake/users/{user_id}/button")
    async def user_button(user_id: int, body: ButtonIn) -> Any:
        who = user(user_id, body)
        return jsonable(
            await fake.press_button(body.token, who, body.callback_data, body.message_id)
        )

    @app.post("/fake/users/{user_id}/edit")
    async def user_edit(user_id: int, body: EditIn) -> Any:
        who = user(user_id, body)
        return jsonable(await fake.edit_text(body.token, who, body.message_id, body.text))

    @app.post("/fake/users/{user_id}/sticker")
    async def user_sticker(user_id: int, body: StickerIn) -> Any:
        return jsonable(await fake.send_sticker(body.token, user(user_id, body), body.emoji))

    @app.post("/fake/users/{user_id}/block")
    async def user_block(user_id: int, body: UserIn) -> Any:
        return jsonable(await fake.block_bot(body.token, user(user_id, body)))

    @app.post("/fake/users/{user_id}/unblock")
    async def user_unblock(user_id: int, body: UserIn) -> Any:
        return jsonable(await fake.unblock_bot(body.token, user(user_id, body)))

    @app.post("/fake/updates")
    async def raw_update(body: UpdateIn) -> Any:
        return jsonable(await fake.deliver(body.token, body.update))

    @app.get("/fake/chats/{chat_id}/messages")
    async def chat_messages(
        chat_id: int, token: Annotated[str | None, Query()] = None
    ) -> list[dict[str, Any]]:
        return [jsonable(sent) for sent in fake.messages_to(chat_id, token)]

    @app.post("/fake/faults")
    async def faults(body: FaultsIn) -> dict[str, Literal[True]]:
        try:
            if body.clear:
                fake.clear_faults()
            if body.chat:
                chat = body.chat
                fake.fail_chat(chat.chat_id, chat.kind, chat.count, chat.retry_after)
            if body.rate:
                rate = body.rate
                fake.fail_rate(rate.kind, rate.probability, rate.seed, rate.retry_after)
            if body.slow:
                fake.slow(body.slow.seconds, body.slow.chat_id)
        except ValueError as error:
            raise HTTPException(422, str(error)) from None
        return {"ok": True}

    @app.delete("/fake/faults")
    async def clear_faults() -> dict[str, Literal[True]]:
        fake.clear_faults()
        return {"ok": True}

    @app.post("/fake/reset")
    async def reset() -> dict[str, Literal[True]]:
        fake.reset()
        return {"ok": True}

    @app.get("/fake/stats")
    async def stats() -> dict[str, Any]:
        return fake.stats()

    return app
