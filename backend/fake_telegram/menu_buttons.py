"""The bots' menu buttons (setChatMenuButton, getChatMenuButton), as the fake keeps them.

Dvorik points each bot's menu button at its Mini App when it registers the
webhooks; the fake records the button per chat ("default": every chat
without its own), so tests read what a person would tap.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from backend.fake_telegram.errors import bad_request
from backend.fake_telegram.methods import Telegram, method
from backend.fake_telegram.models import BotState
from backend.fake_telegram.params import Params

KINDS = ("default", "commands", "web_app")
DEFAULT = {"type": "default"}


def _chat_key(p: Params) -> str:
    chat_id = p.integer("chat_id")
    return "default" if chat_id is None else str(chat_id)


@method("setChatMenuButton")
async def set_chat_menu_button(fake: Telegram, bot: BotState, p: Params) -> Any:
    button = p.structured("menu_button") or DEFAULT
    if not isinstance(button, dict) or button.get("type") not in KINDS:
        raise bad_request("can't parse menu button JSON object")
    if button["type"] == "web_app":
        web_app = button.get("web_app")
        url = str(web_app.get("url") or "") if isinstance(web_app, dict) else ""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise bad_request("BUTTON_URL_INVALID")
        if not 1 <= len(str(button.get("text") or "")) <= 64:
            raise bad_request("BUTTON_TEXT_INVALID")
    bot.menu_buttons[_chat_key(p)] = button
    return True


@method("getChatMenuButton")
async def get_chat_menu_button(fake: Telegram, bot: BotState, p: Params) -> Any:
    key = _chat_key(p)
    return bot.menu_buttons.get(key) or bot.menu_buttons.get("default") or DEFAULT
