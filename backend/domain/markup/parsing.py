"""Parsing a text in its parse mode: what the reader sees, or why Telegram would refuse it."""

from __future__ import annotations

from backend.domain.markup.errors import Broken, Source, invalid_markup
from backend.domain.markup.formatted import Formatted, entities
from backend.domain.markup.html_parser import HtmlParser
from backend.domain.markup.markdown_v2 import MarkdownV2Parser
from backend.domain.models import ParseMode


def parse(text: str, parse_mode: ParseMode, *, source: Source | None = None) -> Formatted:
    """What the reader sees of `text` in `parse_mode`; InvalidMarkup if Telegram would refuse it.

    The error says what is wrong and where (line and column, 1-based, and the
    character offset, 0-based, in `details`), in the written text of `source`
    when given.
    """
    if parse_mode is ParseMode.PLAIN:
        return Formatted(text)
    try:
        if parse_mode is ParseMode.HTML:
            visible, spans = HtmlParser(text).run()
        else:
            visible, spans = MarkdownV2Parser(text).run()
    except Broken as broken:
        raise invalid_markup(parse_mode, broken, source or Source(text)) from None
    return Formatted(visible, entities(visible, spans))


def validate(text: str, parse_mode: ParseMode, *, source: Source | None = None) -> None:
    """Raise InvalidMarkup unless Telegram accepts `text` in `parse_mode` (plain text always)."""
    parse(text, parse_mode, source=source)


def visible_text(text: str, parse_mode: ParseMode) -> str:
    """The characters a reader sees, e.g. for a button label, which takes no markup."""
    return parse(text, parse_mode).text
