"""The Bot API itself, `/bot{token}/{method}`: what bots call, answered as Telegram answers.

A long poll (`getUpdates`) ends as soon as its caller hangs up; every other
method is carried out even if the caller is gone, as Telegram does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from backend.fake_telegram.models import jsonable
from backend.fake_telegram.params import read_params
from backend.fake_telegram.routes import Fake

T = TypeVar("T")

router = APIRouter()


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


@router.api_route("/bot{token}/{method}", methods=["GET", "POST"], include_in_schema=False)
async def bot_api(token: str, method: str, request: Request, fake: Fake) -> Response:
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
