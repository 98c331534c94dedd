"""Who is asking, and how the Mini Apps' API says no.

Every request carries the app's raw initData (`Authorization: tma <initData>`,
as Telegram's docs suggest); `launched_by` checks it with the token of the bot
the app belongs to, so nothing is read or changed for a request that Telegram
did not vouch for. A refusal is `Refusal`: one JSON shape,
`{"error": {"code", "message"}}`, whose message is a template a person reads
(the bots' own texts where the bots say the same thing).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from backend.domain.clock import utcnow
from backend.domain.errors import ErrorCode
from backend.domain.templates import Rendered
from backend.mini_apps.init_data import LaunchUser, Refused, verified_user
from backend.runtime import Runtime

log = logging.getLogger("dvorik.mini_apps")
SCHEME = "tma "

# How each refusal the till and the card know is answered over HTTP.
STATUSES = {
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.CASHIER_INACTIVE: 403,
    ErrorCode.CODE_NOT_FOUND: 404,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.VALIDATION: 422,
    ErrorCode.INVALID_BIRTHDAY: 422,
    ErrorCode.THROTTLED: 429,
}


class ProblemDetails(BaseModel):
    code: str
    message: str
    retry_after_seconds: int | None = None


class Problem(BaseModel):
    """How every refusal reads (for the OpenAPI; `Refusal.response` writes it)."""

    error: ProblemDetails


MEANINGS = {
    401: "initData missing, forged, of the other bot, or older than MINI_APP_MAX_AGE_SECONDS",
    403: "Not a customer (never pressed /start) / not an active cashier",
    404: "No such code",
    409: "Refused: the code is used, expired or cancelled; the birthday is set already",
    422: "Unreadable input (the amount, the date, the body)",
    429: "Over the cashier's look-up limit (retry_after_seconds)",
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The refusals an operation may answer with, for its OpenAPI `responses`."""
    return {status: {"model": Problem, "description": MEANINGS[status]} for status in statuses}


def json_body(**fields: str) -> dict[str, Any]:
    """An operation's JSON body (`name="string"`, `"boolean"`, `"string?"` if optional), for
    its OpenAPI only: `body_of` reads it, so a bad one is refused in this API's own words."""
    properties = {name: {"type": kind.rstrip("?")} for name, kind in fields.items()}
    required = [name for name, kind in fields.items() if not kind.endswith("?")]
    schema = {"type": "object", "properties": properties, "required": required}
    content = {"application/json": {"schema": schema}}
    return {"requestBody": {"required": True, "content": content}}


class App(StrEnum):
    """A Mini App, by the bot whose menu opens it (and whose token signs its initData)."""

    CARD = "telegram_bot_token"
    TILL = "telegram_auth_bot_token"


@dataclass
class Refusal(Exception):
    """A request the Mini App's API says no to, with what the person reads."""

    code: ErrorCode
    message: str
    retry_after_seconds: int | None = None

    @property
    def status(self) -> int:
        return STATUSES.get(self.code, 409)  # the rest are refusals of a code or a date

    def response(self) -> JSONResponse:
        error: dict[str, Any] = {"code": self.code.value, "message": self.message}
        headers = {}
        if self.retry_after_seconds is not None:
            error["retry_after_seconds"] = self.retry_after_seconds
            headers["Retry-After"] = str(self.retry_after_seconds)
        return JSONResponse({"error": error}, status_code=self.status, headers=headers)


def refused(code: ErrorCode, text: Rendered, retry_after_seconds: int | None = None) -> Refusal:
    return Refusal(code, text.plain, retry_after_seconds)


async def refusal_response(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, Refusal)
    return error.response()


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def launched_by(request: Request, app: App) -> LaunchUser:
    """The Telegram user who opened `app`, as its initData proves; else 401."""
    runtime = runtime_of(request)
    settings = runtime.settings
    token = getattr(settings, app.value)
    header = request.headers.get("authorization", "")
    try:
        if token is None or not header.startswith(SCHEME):
            raise Refused("no initData, or the bot is not configured")
        return verified_user(
            header.removeprefix(SCHEME),
            token.get_secret_value(),
            now=utcnow(),
            max_age_seconds=settings.mini_app_max_age_seconds,
        )
    except Refused as error:
        log.info("mini app %s refused: %s", app.name.lower(), error)
        text = await runtime.texts.get("mini_app_unauthenticated")
        raise refused(ErrorCode.UNAUTHENTICATED, text) from None


async def body_of(request: Request, *fields: str) -> dict[str, Any]:
    """The JSON object posted, with `fields` present; else 422 with what a person reads."""
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict) or any(name not in body for name in fields):
        text = await runtime_of(request).texts.get("mini_app_bad_request")
        raise refused(ErrorCode.VALIDATION, text)
    return body


async def text_field(request: Request, body: dict[str, Any], name: str) -> str:
    """A field that must be text (what a person typed or scanned)."""
    value = body.get(name)
    if not isinstance(value, str):
        text = await runtime_of(request).texts.get("mini_app_bad_request")
        raise refused(ErrorCode.VALIDATION, text)
    return value
