"""The formatting and keyboard checks Telegram does before it accepts a message.

Text in a parse mode is read by Dvorik's own markup rules (`backend.domain.markup`),
the same code that checks broadcasts and templates before they are stored: bad
markup answers 400 "can't parse entities: …" here as it would in production, and
a message carries what its reader sees, the text without markup and its
entities. Over-long texts and inline buttons whose `callback_data` exceeds 64
bytes are refused with Telegram's own descriptions too. Legacy Markdown is
accepted as is (Dvorik never sends it).
"""

from __future__ import annotations

from typing import Any

from backend.domain import markup
from backend.domain.errors import InvalidMarkup
from backend.fake_telegram.errors import bad_request

PARSE_MODES = frozenset({"html", "markdown", "markdownv2"})
BUTTON_ACTIONS = (
    "callback_data", "url", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
    "copy_text", "callback_game", "pay",
)  # fmt: skip


def formatted(text: str, parse_mode: str | None) -> markup.Formatted:
    """What a user will see of `text`; raises Telegram's 400 for markup it would refuse."""
    if not parse_mode:
        return markup.Formatted(text)
    if parse_mode.lower() not in PARSE_MODES:
        raise bad_request(f"unsupported parse_mode {parse_mode!r}")
    mode = markup.parse_mode_named(parse_mode)
    if mode is None:
        return markup.Formatted(text)
    try:
        return markup.parse(text, mode)
    except InvalidMarkup as error:
        raise bad_request(f"can't parse entities: {error.message}") from None


def inline_markup(markup: Any) -> dict[str, Any] | None:
    """Validate a reply_markup; return it only if a Message carries it (inline keyboards)."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return None  # reply keyboards, removals and force_reply are not echoed back
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    for row in rows:
        for button in row:
            _check_button(button)
    return markup


def _check_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    actions = [name for name in BUTTON_ACTIONS if name in button]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    data = button.get("callback_data")
    if data is not None and not 1 <= len(str(data).encode()) <= 64:
        raise bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if url is not None and not str(url).startswith(("http://", "https://", "tg://")):
        raise bad_request("BUTTON_URL_INVALID")


def check_length(text: str, limit: int, what: str) -> None:
    if len(text.encode("utf-16-le")) // 2 > limit:
        raise bad_request(f"{what} is too long")
