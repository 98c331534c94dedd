"""`/internal/*`: what an operator asks of a running server (INTERNAL_API_KEY).

Registering both bots' webhooks (and their Mini Apps' menu buttons) with
Telegram, and reading back what Telegram has (`backend.bots.webhook_setup`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from backend.app.internal_key import UNAUTHORIZED, InternalSettings
from backend.bots import webhook_setup

router = APIRouter(prefix="/internal", tags=["operations"], responses=UNAUTHORIZED)


@router.post("/set-webhooks", summary="Register both bots and point their menu buttons")
async def set_webhooks(settings: InternalSettings, request: Request) -> JSONResponse:
    texts = request.app.state.runtime.texts
    return JSONResponse(await webhook_setup.set_webhooks(settings, texts))


@router.get("/webhook-info", summary="What Telegram has")
async def webhook_info(settings: InternalSettings) -> JSONResponse:
    return JSONResponse(await webhook_setup.webhook_info(settings))
