"""Telegram posts updates here: /telegram/customer and /telegram/cashier.

The secret token header is compared in constant time; a wrong or missing one
is 401 and nothing is processed. Each update id is handled once per bot.
Whatever a handler does, Telegram gets 200, so it never re-sends in a loop.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated, Any

from aiogram.types import Update
from fastapi import APIRouter, Header, HTTPException, Request
from pydantic import ValidationError

from backend.domain import telegram_updates
from backend.domain.clock import utcnow
from backend.runtime import Runtime

log = logging.getLogger("dvorik.bots.webhooks")
router = APIRouter(tags=["telegram"])
SecretHeader = Annotated[str | None, Header(alias="X-Telegram-Bot-Api-Secret-Token")]


@router.post(
    "/telegram/{bot_name}",
    summary="Telegram webhook (secret token required)",
    responses={
        401: {"description": "Wrong or missing X-Telegram-Bot-Api-Secret-Token"},
        404: {"description": "No such bot, or the bots are not configured"},
    },
)
async def receive(bot_name: str, request: Request, secret: SecretHeader = None) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    app = runtime.bots.by_name(bot_name) if runtime.bots else None
    if app is None:
        raise HTTPException(status_code=404, detail="no such bot")
    expected = runtime.settings.secret("webhook_secret").encode()
    if secret is None or not hmac.compare_digest(secret.encode(), expected):
        raise HTTPException(status_code=401, detail="wrong or missing secret token")
    try:
        update = Update.model_validate(await request.json(), context={"bot": app.bot})
    except (ValueError, ValidationError):
        log.warning("unreadable update for %s bot ignored", bot_name)
        return {"ok": True}
    async with runtime.sessions() as session, session.begin():
        fresh = await telegram_updates.first_time(session, bot_name, update.update_id, now=utcnow())
    if fresh:
        await app.dispatcher.feed_update(app.bot, update)
    return {"ok": True}
