"""The customer's and the cashier's main journeys, as transcripts a shop owner reads.

Each file in tests/transcripts/ is played end to end through the fake Bot API
against a running Dvorik (and the admin API for what staff do), on SQLite and
MariaDB; every answer must read exactly as written there by hand. How a
transcript is written: tests/transcripts.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain.models import AdminRole
from tests.api import GraphQLClient
from tests.telegram_world import Telegram, fresh, telegram_world
from tests.transcript_format import expected_pattern, parse, readable, transcripts
from tests.transcripts import play

__all__ = ["telegram_world"]


def test_there_is_a_transcript_for_every_journey_of_the_acceptance() -> None:
    assert [path.stem for path in transcripts()] == [
        "1-новая-покупательница",
        "2-ушла-и-вернулась",
        "3-день-кассира",
        "4-скидка-от-маркетолога",
        "5-удалённая-покупательница",
    ]
    for path in transcripts():
        assert parse(path).steps, path


def test_a_line_is_read_exactly_with_its_values_and_an_ellipsis_means_starts_with() -> None:
    known = {"сегодня": "06.12.2026"}.get
    line = "Код {код}: до {сегодня}. Покажите {код} на кассе."
    pattern, new = expected_pattern(line, known)
    found = re.match(pattern, "Код AB12CD34: до 06.12.2026. Покажите AB12CD34 на кассе.")
    assert found is not None and found.group("g0") == "AB12CD34" and new == {"g0": "код"}
    assert not re.match(pattern, "Код AB12CD34: до 06.12.2026. Покажите XX12CD34 на кассе.")
    assert not re.match(pattern, "Код AB12CD34: до 07.12.2026. Покажите AB12CD34 на кассе.")
    assert not re.match(pattern, "Код AB12CD34: до 06.12.2026. Покажите AB12CD34 на кассе. Ещё")
    # Money is shown with non-breaking spaces; a hand-written space matches them.
    money, _ = expected_pattern("К оплате: 1 062,50 ₽", known)
    assert re.match(money, readable("К оплате: 1\u00a0062,50\u00a0₽"))
    starts, _ = expected_pattern("Здравствуйте, Маша!…", known)
    assert re.match(starts, "Здравствуйте, Маша! Добро пожаловать")


@pytest.mark.parametrize("path", transcripts(), ids=lambda path: path.stem)
async def test_the_journey_reads_as_written(
    path: Path,
    telegram_world: Telegram,
    sessions: async_sessionmaker[AsyncSession],
    staff: dict[AdminRole, GraphQLClient],
    engine: AsyncEngine,
) -> None:
    await play(path, await fresh(telegram_world), sessions, staff, engine)
