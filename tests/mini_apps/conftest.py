"""The Mini Apps' tests run in the shared bot world: Dvorik with both bots on the fake Telegram."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.telegram_world import Telegram, fresh, telegram_world

__all__ = ["telegram_world"]


@pytest.fixture
async def telegram(
    telegram_world: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> Telegram:
    """The bot world, fresh for this test, on a database emptied after it."""
    return await fresh(telegram_world)
