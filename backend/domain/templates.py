"""Message templates: the Russian texts customers and cashiers read.

Texts live in the database so marketing can edit them; the defaults ship as
data (`data/templates.ru.json`), never as string literals in handlers. Each
template key has a fixed set of placeholders; a text that uses any other is
refused up front instead of failing when a message is sent.

A text may be written in HTML or MarkdownV2 (its parse mode). Its markup is
checked before it is stored (`check_markup`), with its placeholders filled by
sample values full of markup-special characters, and values are escaped for
the parse mode when a message is rendered (`render_text`): a customer called
"<Маша & Ко>" reads her name, and the message still parses.
"""

from __future__ import annotations

import json
import logging
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import markup
from backend.domain.errors import InvalidMarkup, InvalidTemplate, NotFound
from backend.domain.models import ParseMode, Template

log = logging.getLogger("dvorik.templates")

# Values a text is checked with (escaped as when sent): one starting with a reserved
# character and holding every character special in HTML or MarkdownV2 and a line
# break, a plain name, and nothing. An escaped value is plain text wherever it
# stands; what it can change around it depends on whether it is empty and on the
# kind of its first and last character, and these three cover the kinds.
SAMPLE_VALUES = ("*<Маша & Ко>\n\"'_[]()~`>#+-=|{}.!\\ Ко", "Маша", "")
_PLACEHOLDER_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


@dataclass(frozen=True)
class Rendered:
    """A filled-in text and the parse mode Telegram must read it in."""

    text: str
    parse_mode: ParseMode = ParseMode.PLAIN

    @property
    def telegram_parse_mode(self) -> str | None:
        """The Bot API's `parse_mode` for this text (None: plain text)."""
        return markup.telegram_parse_mode(self.parse_mode)

    @property
    def plain(self) -> str:
        """What the reader sees, for places that take no markup: buttons, alerts, other values."""
        return markup.visible_text(self.text, self.parse_mode)


@dataclass(frozen=True)
class TemplateDefault:
    key: str
    text: str
    placeholders: frozenset[str]
    description: str


@cache
def defaults() -> dict[str, TemplateDefault]:
    raw: dict[str, Any] = json.loads(
        resources.files("backend.domain").joinpath("data/templates.ru.json").read_text("utf-8")
    )
    return {
        key: TemplateDefault(
            key, item["text"], frozenset(item["placeholders"]), item["description"]
        )
        for key, item in raw.items()
    }


def placeholders_in(text: str) -> set[str]:
    """The {names} a text uses; raises InvalidTemplate for broken braces or {0}-style fields.

    A placeholder is a bare name: a format spec or a conversion ("{percent:d}",
    "{first_name:>999999999}", "{code!r}") would only fail, or build a huge
    string, when a message is rendered, long after the text was accepted.
    """
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as error:
        raise InvalidTemplate(f"broken placeholder: {error}") from None
    names = set()
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier():
            raise InvalidTemplate(f"placeholder {{{field}}} is not a simple name")
        if spec or conversion:
            raise InvalidTemplate(
                f"placeholder {{{field}}} must be a bare name, without a format or conversion"
            )
        names.add(field)
    return names


def validate_text(key: str, text: str) -> None:
    if not text.strip():
        raise InvalidTemplate("template text cannot be empty")
    allowed = defaults()[key].placeholders if key in defaults() else None
    used = placeholders_in(text)
    if allowed is not None and not used <= allowed:
        unknown = ", ".join(sorted(f"{{{name}}}" for name in used - allowed))
        permitted = ", ".join(sorted(f"{{{name}}}" for name in allowed)) or "none"
        raise InvalidTemplate(f"unknown placeholder {unknown}; allowed: {permitted}", key=key)


async def ensure_defaults(session: AsyncSession) -> int:
    """Insert the shipped defaults that are missing; edited texts are left alone."""
    existing = set(await session.scalars(select(Template.key)))
    missing = [item for key, item in defaults().items() if key not in existing]
    for item in missing:
        session.add(
            Template(
                key=item.key,
                text=item.text,
                parse_mode=ParseMode.PLAIN,
                description=item.description,
            )
        )
    await session.flush()
    return len(missing)


def check_markup(text: str, parse_mode: ParseMode) -> None:
    """Raise InvalidMarkup unless `text` parses in `parse_mode` whatever its placeholders hold.

    Each placeholder is filled with each of `SAMPLE_VALUES` (escaped as
    `render_text` escapes values), so a placeholder where escaping cannot help
    (inside a tag, in an unquoted attribute) or a value that changes the markup
    around it (an empty one turns `_{first_name}_` into `__`, an underline; any
    one makes `{first_name}>` a '>' that is not at a line's start) is found now,
    not when a message is sent. The error points into `text` as written. A text
    whose markup leaves nothing to read is refused too: Telegram refuses an
    empty message.
    """
    if parse_mode is ParseMode.PLAIN:
        return
    placeholders_in(text)  # broken braces: InvalidTemplate, as the callers check first
    if parse_mode is ParseMode.MARKDOWN_V2:
        _check_no_escaped_placeholder(text)
    for sample in SAMPLE_VALUES:
        filled, source = _filled(text, markup.escape(sample, parse_mode))
        shown = markup.parse(filled, parse_mode, source=source).text
        if sample and not shown.strip():
            label = markup.telegram_parse_mode(parse_mode)
            raise InvalidMarkup(f"{label}: the text shows nothing once its markup is removed")


def _check_no_escaped_placeholder(text: str) -> None:
    """A MarkdownV2 backslash right before a placeholder would escape its value's first character.

    The value's own escape is then cut in half (`\\` + `\\*` reads as a backslash
    and a bold marker): whether the text parses would depend on the values.
    """
    for token in _PLACEHOLDER_TOKEN.finditer(text):
        if token.group(1) is None:
            continue
        slashes = 0
        while token.start() - slashes > 0 and text[token.start() - slashes - 1] == "\\":
            slashes += 1
        if slashes % 2:
            raise markup.invalid(
                ParseMode.MARKDOWN_V2,
                text,
                token.start() - 1,
                "the backslash at ",
                f" would escape the first character of {token.group()}: write \\\\ for a"
                " backslash before it",
            )


def _filled(text: str, value: str) -> tuple[str, markup.Source]:
    """`text` with every placeholder set to `value`, and where each stretch came from."""
    parts: list[str] = []
    starts: list[int] = []
    origins: list[int] = []
    names: list[str | None] = []
    size = last = 0

    def add(chars: str, origin: int, name: str | None) -> None:
        nonlocal size
        starts.append(size)
        origins.append(origin)
        names.append(name)
        parts.append(chars)
        size += len(chars)

    for token in _PLACEHOLDER_TOKEN.finditer(text):
        if token.start() > last:
            add(text[last : token.start()], last, None)
        name = token.group(1)
        add(value if name is not None else token.group()[0], token.start(), name)
        last = token.end()
    if last < len(text):
        add(text[last:], last, None)
    return "".join(parts), markup.Source(text, tuple(starts), tuple(origins), tuple(names))


async def stored_texts(session: AsyncSession) -> dict[str, tuple[str, ParseMode]]:
    """Every stored template's text and parse mode, by key (the defaults not included)."""
    rows = await session.scalars(select(Template))
    return {row.key: (row.text, row.parse_mode) for row in rows}


async def render_message(session: AsyncSession, key: str, **values: object) -> Rendered:
    """The template filled in (the stored text, else the default) with its parse mode."""
    template = await session.scalar(select(Template).where(Template.key == key))
    if template is not None:
        return render_text(template.text, template.parse_mode, values)
    if key not in defaults():
        raise NotFound(f"template {key!r} does not exist", entity="template")
    return render_text(defaults()[key].text, ParseMode.PLAIN, values)


async def render(session: AsyncSession, key: str, **values: object) -> str:
    """The template filled in, as the plain text a reader sees (its markup resolved).

    For a sender that passes no parse mode; one that can should send
    `render_message(...)` with its `telegram_parse_mode`, keeping the formatting.
    """
    return (await render_message(session, key, **values)).plain


def render_text(text: str, parse_mode: ParseMode, values: Mapping[str, object]) -> Rendered:
    """`text` with `values` filled in, each escaped for `parse_mode`.

    A `Rendered` value (one template inside another) goes in as the text its
    reader would see. A stored text whose markup Telegram would refuse (saved
    before markup was checked) goes out as plain text, with a warning: the
    customer sees the tags, but gets the message.
    """
    filled = fill_escaped(text, values, parse_mode)
    if parse_mode is ParseMode.PLAIN:
        return Rendered(filled)
    try:
        markup.validate(filled, parse_mode)
    except InvalidMarkup as error:
        log.warning("a stored text is sent as plain text: %s", error.message)
        return Rendered(fill_escaped(text, values, ParseMode.PLAIN))
    return Rendered(filled, parse_mode)


def fill_escaped(text: str, values: Mapping[str, object], parse_mode: ParseMode) -> str:
    """`fill` with each value escaped for `parse_mode`, so values never break the markup."""
    escaped = {
        name: markup.escape(value.plain if isinstance(value, Rendered) else str(value), parse_mode)
        for name, value in values.items()
    }
    return fill(text, escaped)


def fill(text: str, values: Mapping[str, object]) -> str:
    """`text` with its placeholders replaced; an unknown one stays visible as {name}.

    Meant for texts `placeholders_in` accepted: then it cannot raise, whatever
    the values are.
    """
    return text.format_map(_Blank(values))


class _Blank(dict[str, object]):
    """Leaves an unknown placeholder visible instead of crashing a send."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
