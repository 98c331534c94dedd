"""What a reader sees of a text: the characters without markup, and their Bot API entities.

Both parsers (`html_parser`, `markdown_v2`) record what they find the same way:
an entity opened and not yet closed (`Open`), an entity found (`Span`, offsets
in characters of the visible text); `entities` turns the spans into what
Telegram reports, with offsets in UTF-16 code units and in its order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

SPACES = " \t\n\r\f\v\0"  # white space, as both parsers count it


@dataclass(frozen=True)
class Entity:
    """One formatted stretch of the visible text, as a Bot API MessageEntity."""

    type: str
    offset: int  # in UTF-16 code units, as Telegram counts
    length: int
    url: str | None = None
    language: str | None = None
    custom_emoji_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        found = {
            "type": self.type,
            "offset": self.offset,
            "length": self.length,
            "url": self.url,
            "language": self.language,
            "custom_emoji_id": self.custom_emoji_id,
        }
        return {key: value for key, value in found.items() if value is not None}


@dataclass(frozen=True)
class Formatted:
    """What a reader sees of a text: the characters without markup, and their formatting."""

    text: str
    entities: tuple[Entity, ...] = ()


class Open(NamedTuple):
    """An entity opened and not yet closed."""

    name: str  # the tag (HTML) or the entity type (MarkdownV2)
    at: int  # where its markup starts in the checked text
    visible: int  # where its text starts in the visible text
    argument: str = ""


class Span(NamedTuple):
    """An entity found, with offsets in characters of the visible text."""

    type: str
    start: int
    end: int
    argument: str = ""


def entities(visible: str, spans: list[Span]) -> tuple[Entity, ...]:
    """Spans as Bot API entities: UTF-16 offsets, sorted as Telegram sorts them."""
    if not spans:
        return ()
    wide = visible.isascii() or max(visible) <= "\uffff"
    units: list[int] = []
    if not wide:
        total = 0
        units.append(0)
        for char in visible:
            total += 2 if char > "\uffff" else 1
            units.append(total)
    found = []
    for span in spans:
        if span.type == "text_link" and not span.argument:
            continue  # Telegram makes a link of "[text]" only when the text is a URL itself
        start, end = (span.start, span.end) if wide else (units[span.start], units[span.end])
        argument = span.argument or None
        found.append(
            Entity(
                type=span.type,
                offset=start,
                length=end - start,
                url=argument if span.type == "text_link" else None,
                language=argument if span.type == "pre" else None,
                custom_emoji_id=argument if span.type == "custom_emoji" else None,
            )
        )
    found.sort(key=lambda entity: (entity.offset, -entity.length))
    return tuple(found)
