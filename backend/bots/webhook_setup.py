"""Registering our webhooks with the Bot API, and reading back what Telegram has.

Both bots post to `WEBHOOK_BASE_URL/telegram/<bot>` with `WEBHOOK_SECRET`
as the secret token Telegram echoes in every update. The Bot API base URL is
configurable, so a local fake Bot API server stands in for Telegram in tests.

Each bot's menu button opens its Mini App (the customer's card, the cashier's
scanner) at MINI_APP_BASE_URL (else WEBHOOK_BASE_URL), set in the same call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from backend.domain.errors import Conflict
from backend.settings import Settings
from backend.telegram.texts import Texts

BOTS = {"customer": "telegram_bot_token", "cashier": "telegram_auth_bot_token"}
# Each bot's Mini App: its page, and the template of the menu button that opens it.
MINI_APPS = {
    "customer": ("/app/card", "mini_app_card_button"),
    "cashier": ("/app/till", "mini_app_till_button"),
}
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]


@dataclass(frozen=True)
class Bot:
    name: str
    token: str

    @property
    def path(self) -> str:
        return f"/telegram/{self.name}"


def configured_bots(settings: Settings) -> list[Bot]:
    bots = []
    for name, setting in BOTS.items():
        token = getattr(settings, setting)
        if token is None:
            raise Conflict(f"{setting.upper()} is not set", setting=setting.upper())
        bots.append(Bot(name, token.get_secret_value()))
    return bots


async def _call(settings: Settings, bot: Bot, method: str, payload: dict[str, Any]) -> Any:
    url = f"{settings.telegram_api_url}/bot{bot.token}/{method}"
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(url, json=payload)
    body = response.json()
    if not body.get("ok"):
        return {"ok": False, "error": body.get("description", f"HTTP {response.status_code}")}
    return body.get("result")


async def set_webhooks(settings: Settings, texts: Texts) -> dict[str, Any]:
    if settings.webhook_base_url is None:
        raise Conflict("WEBHOOK_BASE_URL is not set", setting="WEBHOOK_BASE_URL")
    results = {}
    for bot in configured_bots(settings):
        payload = {
            "url": settings.webhook_base_url + bot.path,
            "secret_token": settings.secret("webhook_secret"),
            "allowed_updates": ALLOWED_UPDATES,
        }
        results[bot.name] = {
            "url": payload["url"],
            "result": await _call(settings, bot, "setWebhook", payload),
            "menu_button": await set_menu_button(settings, bot, texts),
        }
    return results


async def set_menu_button(settings: Settings, bot: Bot, texts: Texts) -> dict[str, Any]:
    """The bot's menu button opens its Mini App, for every chat."""
    page, label = MINI_APPS[bot.name]
    url = f"{settings.mini_apps_url}{page}"
    button = {"type": "web_app", "text": await texts.plain(label), "web_app": {"url": url}}
    return {
        "url": url,
        "result": await _call(settings, bot, "setChatMenuButton", {"menu_button": button}),
    }


async def webhook_info(settings: Settings) -> dict[str, Any]:
    return {
        bot.name: await _call(settings, bot, "getWebhookInfo", {})
        for bot in configured_bots(settings)
    }
