"""Message templates: the Russian texts customers and cashiers read.

Texts live in the database so marketing can edit them; the defaults ship as
data (`data/templates.ru.json`), never as string literals in handlers. Each
template key has a fixed set of placeholders; a text that uses any other is
refused up front instead of failing when a message is sent.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.errors import InvalidTemplate, NotFound
from backend.domain.models import ParseMode, Template


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


async def render(session: AsyncSession, key: str, **values: object) -> str:
    """The template's text with values filled in (the stored text, else the default)."""
    template = await session.scalar(select(Template).where(Template.key == key))
    text = template.text if template else None
    if text is None:
        if key not in defaults():
            raise NotFound(f"template {key!r} does not exist", entity="template")
        text = defaults()[key].text
    return fill(text, values)


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
