"""The fake as a real HTTP server: the Bot API for bots, `/fake/...` for whoever drives it.

Bots (aiogram, httpx, curl) point their Bot API base URL here and get
Telegram-shaped answers with matching HTTP statuses. Demos, benchmarks and
other processes act as users and inspect what bots sent through `/fake/...`.
The routes live in `backend.fake_telegram.routes`; this module assembles them.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.fake_telegram.errors import BotApiError
from backend.fake_telegram.fast_path import BotApiFastPath
from backend.fake_telegram.routes import bot_api, control, users
from backend.fake_telegram.state import FakeTelegram


async def bot_api_error(request: Request, error: BotApiError) -> Response:
    """A Bot API error as Telegram sends it: `{"ok": false, ...}` with the matching status."""
    return JSONResponse(error.payload(), status_code=error.error_code)


async def not_found(request: Request, error: StarletteHTTPException) -> Response:
    """HTTP errors: Telegram's shape under `/bot...`, FastAPI's elsewhere."""
    if request.url.path.startswith("/bot"):
        return JSONResponse(
            {"ok": False, "error_code": error.status_code, "description": "Not Found"},
            status_code=404,
        )
    return JSONResponse({"detail": error.detail}, status_code=error.status_code)


def create_app(fake: FakeTelegram, *, fast_path: bool = True) -> FastAPI:
    """The fake's app; `fast_path=False` serves every Bot API call through FastAPI's route."""
    app = FastAPI(
        title="Fake Telegram Bot API",
        docs_url="/fake/docs",
        openapi_url="/fake/openapi.json",
        redoc_url=None,
        exception_handlers={BotApiError: bot_api_error, StarletteHTTPException: not_found},
    )
    app.state.fake = fake
    app.include_router(bot_api.router)
    app.include_router(users.router)
    app.include_router(control.router)
    if fast_path:  # the same calls as the route above, without FastAPI's routing
        app.add_middleware(BotApiFastPath, fake=fake)
    return app
