"""The fake Bot API on real HTTP, one per test module, emptied before each test.

For tests that drive the fake itself, or code that talks to Telegram, through a
Bot of their own (the conftest.py of tests/bots and tests/workers make it;
tokens differ). Import the fixtures into a conftest.py or a test module:
pytest finds them by name there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from backend.fake_telegram import FakeTelegram, create_app
from tests.api import serve_app


@pytest.fixture(scope="module")
async def served() -> AsyncIterator[tuple[FakeTelegram, str]]:
    """The fake and its base URL, served for the whole test module."""
    fake = FakeTelegram()
    async with serve_app(create_app(fake)) as url:
        yield fake, url


@pytest.fixture
def fake(served: tuple[FakeTelegram, str]) -> FakeTelegram:
    """The module's fake, with no chats, faults or counts left by an earlier test."""
    served[0].reset()
    return served[0]
