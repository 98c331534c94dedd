"""Posting updates to a bot's webhook, and reading what the webhook answers.

Telegram lets a webhook answer an update with one method call in its body:
JSON `{"method": "sendMessage", ...}`, or multipart form-data, which is what
aiogram's webhook handlers send. Either way the call is handed back to be
executed like any other, so replies given this way are recorded too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from backend.fake_telegram.errors import BotApiError
from backend.fake_telegram.params import FORM_TYPES, body_request, read_params

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


@dataclass(frozen=True)
class WebhookAnswer:
    status: int | None
    body: Any
    error: str | None  # as getWebhookInfo's last_error_message would say it
    call: tuple[str, dict[str, Any]] | None  # a method call answered in the body


async def post_update(url: str, secret: str | None, update: Any, seconds: float) -> WebhookAnswer:
    headers = {SECRET_HEADER: secret} if secret else {}
    try:
        async with httpx.AsyncClient(timeout=seconds) as client:
            response = await client.post(url, json=update, headers=headers)
    except httpx.TimeoutException:
        return WebhookAnswer(None, None, "Read timeout expired", None)
    except httpx.HTTPError as error:
        return WebhookAnswer(
            None, None, f"Connection failed: {error or type(error).__name__}", None
        )
    body = await _parse_body(response)
    if not response.is_success:
        reason = f"{response.status_code} {response.reason_phrase}".strip()
        return WebhookAnswer(
            response.status_code, body, f"Wrong response from the webhook: {reason}", None
        )
    return WebhookAnswer(response.status_code, body, None, _method_call(body))


async def _parse_body(response: httpx.Response) -> Any:
    content_type = response.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() in FORM_TYPES:
        try:
            return await read_params(body_request(response.content, content_type))
        except BotApiError:
            return response.text
    if not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def _method_call(body: Any) -> tuple[str, dict[str, Any]] | None:
    if isinstance(body, dict) and isinstance(body.get("method"), str):
        params = {key: value for key, value in body.items() if key != "method"}
        return body["method"], params
    return None
