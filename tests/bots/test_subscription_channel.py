"""The channel a customer must join first: a broken or stale setting never stops /start.

The membership check goes through the customer bot's aiogram adapter to the
fake Bot API over HTTP, as in production; when Telegram cannot answer (the
channel deleted, Telegram unreachable) the customer is let through and the
shop's log says why.
"""

from __future__ import annotations

import logging
from itertools import count

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain.channels import must_join
from backend.domain.models import ShopSetting
from backend.fake_telegram import FakeUser
from backend.telegram.channels import TelegramChannels
from backend.telegram.clients import create_bot
from tests.processes import free_port
from tests.telegram_world import CUSTOMER_TOKEN, Telegram, fresh, telegram_world

__all__ = ["telegram_world"]

_people = count(6_200_001)


def someone() -> FakeUser:
    return FakeUser(id=next(_people), first_name="Зоя")


@pytest.fixture
async def telegram(
    telegram_world: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> Telegram:
    return await fresh(telegram_world)


def channels_of(telegram: Telegram) -> TelegramChannels:
    """The lookup as the running Dvorik's customer bot."""
    bots = telegram.dvorik.runtime.bots
    assert bots is not None
    return TelegramChannels(bots.customer.bot)


async def test_a_channel_stored_by_an_old_version_no_longer_breaks_start(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Before the rules, a 100,000-character channel was taken and every /start failed."""
    async with sessions() as session, session.begin():
        session.add(ShopSetting(key="subscription_channel", value="x" * 100_000))
    user = someone()
    await telegram.fake.send_text(CUSTOMER_TOKEN, user, "/start")

    texts = telegram.texts_to(user, CUSTOMER_TOKEN)
    assert texts[0].startswith("Здравствуйте, Зоя!"), texts
    assert not any("Я не понял" in text for text in texts)


async def test_without_a_channel_nobody_is_asked_to_join(telegram: Telegram) -> None:
    assert not await must_join(channels_of(telegram), "", someone().id)
    assert telegram.fake.method_counts["getChatMember"] == 0


async def test_a_member_goes_on_and_someone_who_left_must_join(telegram: Telegram) -> None:
    channel = str(telegram.fake.chats.add_channel("marmelad_dvorik")["id"])
    member, outsider = someone(), someone()
    telegram.fake.chats.remember(member)
    telegram.fake.chats.remember(outsider)
    await telegram.fake.block_bot(CUSTOMER_TOKEN, outsider)  # the fake says "kicked" then

    assert not await must_join(channels_of(telegram), channel, member.id)
    assert await must_join(channels_of(telegram), channel, outsider.id)


async def test_a_check_telegram_cannot_answer_lets_the_customer_through_and_is_logged(
    telegram: Telegram, caplog: pytest.LogCaptureFixture
) -> None:
    telegram.fake.chats.add_channel("marmelad_dvorik")
    telegram.fake.chats.remove_channel("marmelad_dvorik")  # the owner deleted the channel
    unreachable = create_bot(CUSTOMER_TOKEN, f"http://127.0.0.1:{free_port()}")
    user = someone()
    try:
        with caplog.at_level(logging.WARNING, logger="dvorik.domain.channels"):
            for lookup in (channels_of(telegram), TelegramChannels(unreachable, timeout=5)):
                assert not await must_join(lookup, "@marmelad_dvorik", user.id)
    finally:
        await unreachable.session.close()
    warnings = [
        record.getMessage() for record in caplog.records if record.name == "dvorik.domain.channels"
    ]
    expected = f"could not check whether user {user.id} joined @marmelad_dvorik"
    assert warnings == [f"{expected}; letting them subscribe"] * 2


async def test_start_greets_a_customer_when_the_channel_was_deleted_after_it_was_set(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Before, the bot asked to join a channel nobody can join, on every /start and press."""
    channel = telegram.fake.chats.add_channel("marmelad_dvorik")
    async with sessions() as session, session.begin():
        session.add(ShopSetting(key="subscription_channel", value=str(channel["id"])))
    telegram.fake.chats.remove_channel("marmelad_dvorik")
    user = someone()
    await telegram.fake.send_text(CUSTOMER_TOKEN, user, "/start")

    texts = telegram.texts_to(user, CUSTOMER_TOKEN)
    assert texts[0].startswith("Здравствуйте, Зоя!"), texts
    assert not any("подпишитесь" in text.lower() for text in texts), texts
