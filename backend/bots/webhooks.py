"""Telegram posts updates here: /telegram/customer and /telegram/cashier.

The secret token header is compared in constant time; a wrong or missing one
is 401 and nothing is processed. Each update id is handled once per bot
(`backend.bots.update_claims`). Whatever a handler does, Telegram gets 200,
so a bug never makes it re-send in a loop; but an update an outage stopped
(the database or Redis unreachable, before the bot said anything) gets 503
and its claim back, so Telegram delivers it again, and the redelivery is
handled once the outage is over (`backend.bots.redelivery`). A body over
WEBHOOK_MAX_BODY_BYTES is refused with 413 before it reaches this module
(`backend.body_limits`): Telegram's updates are a few kilobytes.

A handler may return a Bot API method instead of calling it (the cashier bot
acknowledges a button press this way): it goes back as the HTTP answer,
`{"method": ..., ...}`, which Telegram executes itself, so the request does
not wait for a Bot API round trip of its own. Telegram does not say whether
such a call succeeded, so only calls whose failure nobody needs to hear of
belong there, and a method uploading files is called the usual way.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated, Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import InputFile, Update
from fastapi import APIRouter, Header, HTTPException, Request
from pydantic import ValidationError

from backend.bots.dispatchers import BotApp, BotApps
from backend.bots.redelivery import ReplyCount, counting_replies
from backend.bots.update_claims import UpdateClaim
from backend.domain.clock import utcnow
from backend.outages import describe, is_outage
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
        413: {"description": "Body over WEBHOOK_MAX_BODY_BYTES (backend.body_limits)"},
        503: {"description": "An outage stopped the update: Telegram delivers it again"},
    },
)
async def receive(bot_name: str, request: Request, secret: SecretHeader = None) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    apps: BotApps | None = request.app.state.bot_apps
    app = apps.by_name(bot_name) if apps else None
    if apps is None or app is None:
        raise HTTPException(status_code=404, detail="no such bot")
    expected = runtime.settings.secret("webhook_secret").encode()
    if secret is None or not hmac.compare_digest(secret.encode(), expected):
        raise HTTPException(status_code=401, detail="wrong or missing secret token")
    try:
        update = Update.model_validate(await request.json(), context={"bot": app.bot})
    except (ValueError, ValidationError):
        log.warning("unreadable update for %s bot ignored", bot_name)
        return {"ok": True}
    claim = UpdateClaim(runtime.sessions, bot_name, update.update_id, utcnow(), apps.abandoned)
    with counting_replies() as replies:
        try:
            answer = await handle(app, update, claim)
        except Exception as error:
            if not is_outage(error):
                raise
            await after_outage(claim, replies, error)
            return {"ok": True}
    claim.settled()
    if isinstance(answer, TelegramMethod):
        return await webhook_answer(app.bot, answer)
    return {"ok": True}


async def handle(app: BotApp, update: Update, claim: UpdateClaim) -> Any:
    """The dispatcher's answer to the update; an outage is raised (`backend.bots.redelivery`)."""
    answer = await app.dispatcher.feed_update(app.bot, update, update_claim=claim)
    if not claim.asked:  # no handler matched: record it all the same
        await claim.take_alone()
    return answer


async def after_outage(claim: UpdateClaim, replies: ReplyCount, error: Exception) -> None:
    """503 with the claim given back, so Telegram delivers the update again; or, when the bot
    already said something for it, nothing (200): saying it twice is worse."""
    what = f"update {claim.update_id} of the {claim.bot} bot met an outage ({describe(error)})"
    if replies.sent:
        claim.settled()
        log.warning("%s after %d replies: counted as handled", what, replies.sent)
        return
    await claim.release()
    log.warning("%s: answered 503, Telegram delivers it again", what)
    raise HTTPException(status_code=503, detail="temporarily unavailable; deliver it again")


async def webhook_answer(bot: Bot, method: TelegramMethod[Any]) -> dict[str, Any]:
    """The method as Telegram's webhook answer; one with files is called here instead.

    The session prepares the parameters as for a call of its own (defaults
    filled in, unset fields left out, files set aside) and gives them as one
    JSON object, read back here so the route answers `{"method": ..., ...}`.
    """
    files: dict[str, InputFile] = {}
    prepared = bot.session.prepare_value(method.model_dump(warnings=False), bot=bot, files=files)
    if files:
        await Dispatcher.silent_call_request(bot, method)
        return {"ok": True}
    params: dict[str, Any] = bot.session.json_loads(prepared)
    return {"method": method.__api_method__, **params}
