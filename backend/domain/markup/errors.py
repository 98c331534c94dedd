"""How a text Telegram would refuse is reported: what is wrong, and where the author wrote it.

The parsers raise `Broken` with the message in parts, positions among them
(`At`, `Quote`) in the text checked; `invalid_markup` renders them as line and
column in the text the author wrote (`Source`, which maps a placeholder's
value back to the placeholder) and makes the domain's `InvalidMarkup`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any, NamedTuple

from backend.domain.errors import InvalidMarkup
from backend.domain.models import ParseMode

_SHOWN = 40  # characters of a tag name or an entity quoted back in an error


@dataclass(frozen=True)
class Source:
    """The text an author wrote, and where each stretch of the text checked came from.

    A template is checked with its placeholders filled in, yet an error must
    point into what the author typed: a stretch filled from a placeholder maps
    to the placeholder's position, and the error names it.
    """

    written: str
    starts: tuple[int, ...] = ()  # where each stretch starts in the checked text (ascending)
    origins: tuple[int, ...] = ()  # where it starts in `written`
    placeholders: tuple[str | None, ...] = ()  # the placeholder it was filled from, if any

    def locate(self, offset: int) -> tuple[int, str | None]:
        index = bisect.bisect_right(self.starts, offset) - 1
        if index < 0:
            return offset, None
        name = self.placeholders[index]
        if name is not None:
            return self.origins[index], name
        return self.origins[index] + offset - self.starts[index], None

    def locate_end(self, offset: int) -> int:
        """Where a stretch of the checked text that ends at `offset` ends in `written`."""
        if offset <= 0:
            return self.locate(offset)[0]
        origin, name = self.locate(offset - 1)
        if name is not None:
            return self.written.find("}", origin) + 1  # after the whole {placeholder}
        return origin + 1


class At(NamedTuple):
    """A position in the checked text, rendered as a line and column in an error message."""

    offset: int


class Quote(NamedTuple):
    """A stretch of the checked text, quoted in an error as the author wrote it."""

    start: int
    end: int


class Broken(Exception):
    """Why a text cannot be parsed: message parts, positions among them (the first is where)."""

    def __init__(self, *parts: str | At | Quote) -> None:
        super().__init__()
        self.parts = parts


def invalid_markup(parse_mode: ParseMode, broken: Broken, source: Source) -> InvalidMarkup:
    """The domain error for `broken`, its positions told in the text `source` was written as."""
    where: dict[str, Any] = {}

    def describe(at: At) -> str:
        offset, placeholder = source.locate(at.offset)
        line = source.written.count("\n", 0, offset) + 1
        column = offset - (source.written.rfind("\n", 0, offset) + 1) + 1
        if not where:
            where.update(offset=offset, line=line, column=column)
            if placeholder is not None:
                where["placeholder"] = placeholder
        note = f" (in the value of {{{placeholder}}})" if placeholder is not None else ""
        return f"line {line}, column {column}{note}"

    def quote(part: Quote) -> str:
        start = source.locate(part.start)[0]
        return _shown(source.written[start : source.locate_end(part.end)])

    def render(part: str | At | Quote) -> str:
        if isinstance(part, At):
            return describe(part)
        return quote(part) if isinstance(part, Quote) else part

    label = "HTML" if parse_mode is ParseMode.HTML else "MarkdownV2"
    message = "".join(render(part) for part in broken.parts)
    return InvalidMarkup(f"{label}: {message}", **where)


def _shown(value: str) -> str:
    return value if len(value) <= _SHOWN else value[:_SHOWN] + "…"


def invalid(parse_mode: ParseMode, text: str, at: int, before: str, after: str) -> InvalidMarkup:
    """InvalidMarkup for a problem found outside the parser, worded `before` + where + `after`."""
    return invalid_markup(parse_mode, Broken(before, At(at), after), Source(text))
