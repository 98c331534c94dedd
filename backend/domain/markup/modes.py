"""Parse modes as the Bot API names them, and a value written to show as is in one."""

from __future__ import annotations

import html
import re

from backend.domain.models import ParseMode

_MARKDOWN_ESCAPE = re.compile(r"([_*\[\]()~`>#+\-=|{}.!\\\n])")


def escape(value: str, parse_mode: ParseMode) -> str:
    """`value` written so that the reader sees it exactly, wherever it stands in a text.

    HTML: &, <, >, " and ' as entities (quotes too, so a value is safe inside
    an attribute). MarkdownV2: every reserved character, the backslash and the
    line break behind a backslash (Telegram allows escaping any character
    from 1 to 126), so a value with a line break does not end a block
    quotation around it.
    """
    if parse_mode is ParseMode.HTML:
        return html.escape(value, quote=True)
    if parse_mode is ParseMode.MARKDOWN_V2:
        return _MARKDOWN_ESCAPE.sub(r"\\\1", value)
    return value


def telegram_parse_mode(parse_mode: ParseMode) -> str | None:
    """The Bot API's `parse_mode` value: None for plain text."""
    return None if parse_mode is ParseMode.PLAIN else parse_mode.value


def parse_mode_named(name: str) -> ParseMode | None:
    """The parse mode a Bot API `parse_mode` names (case-insensitive), None for unknown ones."""
    return {"html": ParseMode.HTML, "markdownv2": ParseMode.MARKDOWN_V2}.get(name.lower())
