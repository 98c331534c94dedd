"""Message templates: the Russian texts customers and cashiers read.

Texts live in the database so marketing can edit them; the defaults ship as
data (`data/templates.ru.json`), never as string literals in handlers. Each
template key has a fixed set of placeholders; a text that uses any other is
refused up front instead of failing when a message is sent.
"""

from __future__ import annotations

import json
import string
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
    """The {names} a text uses; raises InvalidTemplate for broken braces or {0}-style fields."""
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]
    except ValueError as error:
        raise InvalidTemplate(f"broken placeholder: {error}") from None
    names = set()
    for field in fields:
        if not field.isidentifier():
            raise InvalidTemplate(f"placeholder {{{field}}} is not a simple name")
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
    return text.format_map(_Blank(values))


class _Blank(dict[str, object]):
    """Leaves an unknown placeholder visible instead of crashing a send."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
