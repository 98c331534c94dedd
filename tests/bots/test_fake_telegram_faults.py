"""Faults injected into the fake Bot API raise aiogram's own exceptions.

429, 403, 400 and 5xx answers for one chat or at a seeded rate, slow answers,
and a user who blocks the bot: tests and benchmarks built on these mean
something only if aiogram reads them as it reads Telegram's.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import ChatMemberBanned, ChatMemberMember

from backend.fake_telegram import FakeTelegram
from tests.fake_bot_api import ANNA, BORIS, BOT_ID, TOKEN, bot, fake, served
from tests.timing import until

__all__ = ["bot", "fake", "served"]


@pytest.mark.parametrize(
    ("kind", "error", "description"),
    [
        ("429", TelegramRetryAfter, "Too Many Requests: retry after 7"),
        ("403", TelegramForbiddenError, "Forbidden: bot was blocked by the user"),
        ("400", TelegramBadRequest, "Bad Request: chat not found"),
        ("500", TelegramServerError, "Internal Server Error"),
        ("502", TelegramServerError, "Bad Gateway"),
    ],
)
async def test_injected_faults_raise_aiograms_exceptions(
    bot: Bot,
    fake: FakeTelegram,
    kind: str,
    error: type[TelegramAPIError],
    description: str,
) -> None:
    fake.fail_chat(ANNA.id, kind, count=1, retry_after=7)

    with pytest.raises(error) as raised:
        await bot.send_message(ANNA.id, "Акция")
    await bot.send_message(BORIS.id, "Другому чату можно")
    await bot.send_message(ANNA.id, "Со второй попытки")

    assert description in raised.value.message  # aiogram prefixes 429s with its own words
    if isinstance(raised.value, TelegramRetryAfter):
        assert raised.value.retry_after == 7
    assert fake.faults_injected == 1
    assert [s.text for s in fake.messages_to(ANNA.id)] == ["Со второй попытки"]


async def test_faults_without_count_last_until_cleared(bot: Bot, fake: FakeTelegram) -> None:
    fake.fail_chat(ANNA.id, 429)

    for _ in range(3):
        with pytest.raises(TelegramRetryAfter):
            await bot.send_message(ANNA.id, "Акция")
    fake.clear_faults()
    await bot.send_message(ANNA.id, "Акция")

    assert fake.faults_injected == 3
    assert fake.error_counts[429] == 3


async def test_rate_faults_are_deterministic_for_a_seed(bot: Bot, fake: FakeTelegram) -> None:
    async def outcomes(seed: int) -> list[bool]:
        fake.reset()
        fake.fail_rate("500", 0.3, seed=seed)
        results = []
        for chat_id in range(2000, 2030):
            try:
                await bot.send_message(chat_id, "Рассылка")
                results.append(True)
            except TelegramServerError:
                results.append(False)
        return results

    first, again, other = await outcomes(42), await outcomes(42), await outcomes(7)

    assert first == again
    assert first != other
    assert 0 < first.count(False) < len(first)
    assert fake.faults_injected == other.count(False)
    assert fake.sent_count == other.count(True)


async def test_slow_answers_take_at_least_the_delay(bot: Bot, fake: FakeTelegram) -> None:
    fake.slow(0.3, chat_id=ANNA.id)

    started = time.monotonic()
    slowed = asyncio.create_task(bot.send_message(ANNA.id, "Медленно"))
    await until(lambda: fake.method_counts["sendMessage"] == 1, "Anna's call at the fake")
    await bot.send_message(BORIS.id, "Быстро")
    # Another chat is answered while Anna's call still waits: only hers is slowed.
    boris_first = not slowed.done()
    await slowed
    slow = time.monotonic() - started
    fake.slow(0.2)
    started = time.monotonic()
    await bot.get_me()
    everything = time.monotonic() - started

    assert slow >= 0.3
    assert boris_first
    assert everything >= 0.2


async def test_blocking_the_bot_delivers_my_chat_member_and_later_sends_get_403(
    bot: Bot, fake: FakeTelegram
) -> None:
    await bot.send_message(ANNA.id, "До блокировки")
    await fake.block_bot(TOKEN, ANNA)
    [update] = await bot.get_updates()

    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(ANNA.id, "После блокировки")
    member = await bot.get_chat_member(ANNA.id, ANNA.id)
    await fake.unblock_bot(TOKEN, ANNA)
    await bot.send_message(ANNA.id, "Снова можно")

    changed = update.my_chat_member
    assert changed is not None and changed.from_user.id == ANNA.id
    assert (changed.old_chat_member.status, changed.new_chat_member.status) == ("member", "kicked")
    assert changed.new_chat_member.user.id == BOT_ID
    assert isinstance(member, ChatMemberBanned)
    assert isinstance(await bot.get_chat_member(ANNA.id, ANNA.id), ChatMemberMember)
    assert fake.is_blocked(TOKEN, ANNA.id) is False
    assert [s.text for s in fake.messages_to(ANNA.id)] == ["До блокировки", "Снова можно"]
    assert fake.forbidden_count == 1
