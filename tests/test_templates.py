"""Texts customers read come from templates, with their placeholders checked."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import templates
from backend.domain.errors import InvalidTemplate
from backend.domain.models import Template


async def test_defaults_are_seeded_once_and_edits_survive(session: AsyncSession) -> None:
    added = await templates.ensure_defaults(session)
    assert added == len(templates.defaults())
    welcome = await session.scalar(select(Template).where(Template.key == "welcome"))
    assert welcome is not None
    welcome.text = "Привет, {first_name}!"
    await session.flush()

    assert await templates.ensure_defaults(session) == 0
    assert await templates.render(session, "welcome", first_name="Маша") == "Привет, Маша!"


async def test_rendering_fills_placeholders_in_russian(session: AsyncSession) -> None:
    text = await templates.render(
        session,
        "welcome_discount",
        first_name="Маша",
        percent=10,
        code="ABCD2345",
        expires_on="25.12.2026",
    )
    assert "Маша" in text and "10%" in text and "ABCD2345" in text


def test_every_default_uses_only_its_placeholders() -> None:
    for key, default in templates.defaults().items():
        templates.validate_text(key, default.text)
        assert templates.placeholders_in(default.text) <= default.placeholders


@pytest.mark.parametrize(
    "text", ["Скидка {percent}% для {fullname}", "Сломано {", "{0} позиционный", "   "]
)
def test_bad_template_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidTemplate):
        templates.validate_text("welcome_discount", text)
