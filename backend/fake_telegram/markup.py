"""The formatting and keyboard checks Telegram does before it accepts a message.

Only the mistakes we can realistically make are modelled: HTML tags Telegram
does not support or leaves unclosed (`<br>`, `<p>`, a stray `<b>`), over-long
texts, and inline buttons whose `callback_data` exceeds 64 bytes. Each answers
Telegram's own 400 description, so templates break here, not in production.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from backend.fake_telegram.errors import bad_request

HTML_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
        "tg-spoiler", "a", "code", "pre", "blockquote", "tg-emoji",
    }
)  # fmt: skip
PARSE_MODES = frozenset({"html", "markdown", "markdownv2"})
BUTTON_ACTIONS = (
    "callback_data", "url", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
    "copy_text", "callback_game", "pay",
)  # fmt: skip


class _TelegramHtml(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = text
        self.line_starts = [0]
        for index, char in enumerate(text):
            if char == "\n":
                self.line_starts.append(index + 1)
        self.open: list[str] = []
        self.plain: list[str] = []

    def _byte_offset(self) -> int:
        line, column = self.getpos()
        return len(self.source[: self.line_starts[line - 1] + column].encode())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS:
            raise bad_request(
                f'can\'t parse entities: Unsupported start tag "{tag}" '
                f"at byte offset {self._byte_offset()}"
            )
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            raise bad_request(
                f"can't parse entities: Unexpected end tag at byte offset {self._byte_offset()}"
            )
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.plain.append(data)


def plain_text(text: str, parse_mode: str | None) -> str:
    """The text a user will see; raises Telegram's 400 for markup it would refuse."""
    if parse_mode is None:
        return text
    if parse_mode.lower() not in PARSE_MODES:
        raise bad_request(f"unsupported parse_mode {parse_mode!r}")
    if parse_mode.lower() != "html":
        return text
    parser = _TelegramHtml(text)
    parser.feed(text)
    parser.close()
    if parser.open:
        raise bad_request(
            "can't parse entities: Can't find end tag corresponding to start tag "
            f'"{parser.open[-1]}"'
        )
    return "".join(parser.plain)


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
