"""The bots' template cache loads once for every request that finds it cold.

A burst of webhook updates right after the cache expires (or after marketing
edits a text) must not read the templates once per update: the requests
that find the cache cold wait for one load and all answer with its texts.
Loads are counted as the database sees them: SELECTs on the templates table.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractContextManager
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain.models import ParseMode, Template
from backend.telegram.texts import Texts
from tests.statements import statements_on

BURST = 32  # updates in flight at once, as in the bench's webhook intake


def template_reads(engine: AsyncEngine) -> AbstractContextManager[list[str]]:
    """Every statement that reads the templates table while the block runs."""
    return statements_on(
        engine,
        lambda statement: (
            statement.lstrip().upper().startswith("SELECT") and "templates" in statement
        ),
    )


async def test_a_burst_on_a_cold_cache_reads_the_templates_once(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        session.add(Template(key="welcome", text="Добро пожаловать!", parse_mode=ParseMode.PLAIN))
    texts = Texts(sessions, ZoneInfo("Europe/Moscow"))

    with template_reads(engine) as reads:
        answers = await asyncio.gather(*(texts.plain("welcome") for _ in range(BURST)))
    assert answers == ["Добро пожаловать!"] * BURST
    assert len(reads) == 1

    # Marketing edits the text: the next burst reads it once, and every update shows it.
    async with sessions() as session, session.begin():
        await session.execute(
            update(Template).where(Template.key == "welcome").values(text="С возвращением!")
        )
    texts.invalidate()
    with template_reads(engine) as reads:
        answers = await asyncio.gather(*(texts.plain("welcome") for _ in range(BURST)))
    assert answers == ["С возвращением!"] * BURST
    assert len(reads) == 1
