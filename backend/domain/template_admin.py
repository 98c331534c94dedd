"""Editing message templates: create, change and delete texts, each change audited.

`templates` knows what a text may contain and how to render it; this module is
how admins change the stored texts. A shipped default key (from
`templates.defaults()`) can be edited but never deleted, since the bots ask for
it by name; an edit of a default that was never stored stores it first.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import audit, templates
from backend.domain.audit import Actor
from backend.domain.errors import Conflict, InvalidTemplate, NotFound, ValidationFailed
from backend.domain.models import ParseMode, Template

KEY_PATTERN = re.compile(r"[a-z0-9_]{1,64}")
MAX_DESCRIPTION_LENGTH = 255
MAX_TEXT_LENGTH = 4096  # Telegram's limit for one message


def check_key(raw: str) -> str:
    """A template key: 1 to 64 of a-z, 0-9 and _ (surrounding spaces are ignored)."""
    key = raw.strip()
    if KEY_PATTERN.fullmatch(key) is None:
        raise ValidationFailed(
            "a template key must be 1 to 64 characters of a-z, 0-9 and _", field="key"
        )
    return key


def placeholders(key: str) -> list[str]:
    """The placeholders a key's text may use; [] for keys that ship no default."""
    default = templates.defaults().get(key)
    return sorted(default.placeholders) if default else []


async def list_all(session: AsyncSession) -> list[Template]:
    """Every stored template, by key."""
    return list(await session.scalars(select(Template).order_by(Template.key)))


async def get(session: AsyncSession, key: str, *, for_update: bool = False) -> Template:
    template = await _find(session, key.strip(), for_update=for_update)
    if template is None:
        raise NotFound(f"template {key.strip()!r} does not exist", entity="template")
    return template


async def _find(session: AsyncSession, key: str, *, for_update: bool) -> Template | None:
    query = select(Template).where(Template.key == key)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def create(
    session: AsyncSession,
    key: str,
    text: str,
    *,
    actor: Actor,
    parse_mode: ParseMode = ParseMode.PLAIN,
    description: str | None = None,
) -> Template:
    """A new stored template; Conflict if the key is already stored."""
    key = check_key(key)
    _check_text(key, text)
    templates.check_markup(text, parse_mode)
    if await session.scalar(select(Template.id).where(Template.key == key)) is not None:
        raise Conflict(f"a template with key {key!r} already exists", field="key")
    template = Template(
        key=key, text=text, parse_mode=parse_mode, description=_clean_description(description)
    )
    async with _key_guard(session, key):
        session.add(template)
    await audit.record(session, actor, "template.create", "template", key, after=snapshot(template))
    return template


async def update(
    session: AsyncSession,
    key: str,
    *,
    actor: Actor,
    text: str | None = None,
    parse_mode: ParseMode | None = None,
    description: str | None = None,
) -> Template:
    """Change what is given; description "" clears it. No change, no audit line.

    A shipped default that was never stored is stored (with its default text)
    before the change, so editing it works before `dvorik migrate` seeded it.
    The text and the parse mode are checked together: switching a text to
    HTML checks the stored text as HTML.
    """
    key = key.strip()
    if text is not None:
        _check_text(key, text)
    clean_description = _clean_description(description) if description is not None else None
    stored = await _find(session, key, for_update=True)
    current = stored if stored is not None else _default(key)
    if text is not None or parse_mode is not None:
        templates.check_markup(
            current.text if text is None else text,
            current.parse_mode if parse_mode is None else parse_mode,
        )
    template = stored if stored is not None else await _store(session, current)
    before = snapshot(template)
    if text is not None:
        template.text = text
    if parse_mode is not None:
        template.parse_mode = parse_mode
    if description is not None:
        template.description = clean_description
    await session.flush()
    if snapshot(template) != before:
        await audit.record(
            session,
            actor,
            "template.update",
            "template",
            key,
            before=before,
            after=snapshot(template),
        )
    return template


async def delete(session: AsyncSession, key: str, *, actor: Actor) -> None:
    """Remove a stored template; shipped defaults are refused (the bots need them)."""
    key = key.strip()
    if key in templates.defaults():
        raise Conflict(f"template {key!r} ships with Dvorik and cannot be deleted", field="key")
    template = await get(session, key, for_update=True)
    before = snapshot(template)
    await session.delete(template)
    await session.flush()
    await audit.record(session, actor, "template.delete", "template", key, before=before)


def _default(key: str) -> Template:
    """A shipped default as a row not yet stored; NotFound for keys Dvorik does not ship."""
    default = templates.defaults().get(key)
    if default is None:
        raise NotFound(f"template {key!r} does not exist", entity="template")
    return Template(
        key=key,
        text=default.text,
        parse_mode=ParseMode.PLAIN,
        description=default.description,
    )


async def _store(session: AsyncSession, template: Template) -> Template:
    async with _key_guard(session, template.key):
        session.add(template)
    return template


def _check_text(key: str, text: str) -> None:
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidTemplate(f"template text is longer than {MAX_TEXT_LENGTH} characters", key=key)
    templates.validate_text(key, text)


def _clean_description(raw: str | None) -> str | None:
    description = (raw or "").strip() or None
    if description is not None and len(description) > MAX_DESCRIPTION_LENGTH:
        raise ValidationFailed(
            f"a description must be at most {MAX_DESCRIPTION_LENGTH} characters",
            field="description",
        )
    return description


@asynccontextmanager
async def _key_guard(session: AsyncSession, key: str) -> AsyncIterator[None]:
    """Flush under a savepoint; a parallel request that stored the key first is Conflict."""
    try:
        async with session.begin_nested():
            yield
    except IntegrityError:
        raise Conflict(f"a template with key {key!r} already exists", field="key") from None


def snapshot(template: Template) -> dict[str, Any]:
    return {
        "text": template.text,
        "parse_mode": template.parse_mode,
        "description": template.description,
    }
