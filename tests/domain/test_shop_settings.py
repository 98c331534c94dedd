"""The owner tunes the shop: valid values are stored and audited, bad ones change nothing.

Settings are checked by meaning: the subscription channel must be written as
Telegram writes channels and be known to Telegram (the fake Bot API, over
HTTP, through the same aiogram adapter the API uses) before it is stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain import shop_settings
from backend.domain.audit import Actor
from backend.domain.errors import ErrorCode, InvalidSetting
from backend.domain.models import AuditEntry, ShopSetting
from backend.fake_telegram import FakeTelegram, create_app
from backend.telegram.channels import TelegramChannels
from backend.telegram.clients import create_bot
from tests.api import serve_app
from tests.factories import make_admin
from tests.processes import free_port
from tests.statements import statements_on
from tests.telegram_world import CUSTOMER_TOKEN

CHANNEL = "subscription_channel"


async def test_defaults_are_there_before_anyone_changes_anything(session: AsyncSession) -> None:
    values = await shop_settings.get_all(session)
    assert values["discount_percent_subscription"] == 10
    assert values["discount_percent_birthday"] == 15
    assert values["broadcast_send_rate_per_second"] == 25
    assert set(values) == set(shop_settings.SPECS)


async def test_owner_changes_the_birthday_percent(session: AsyncSession) -> None:
    owner = await make_admin(session)
    actor = Actor.admin(owner.id, owner.email)

    await shop_settings.set_value(session, "discount_percent_birthday", 20, actor)
    await session.commit()

    assert (await shop_settings.get_all(session))["discount_percent_birthday"] == 20
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "setting.update"))
    assert entry is not None
    assert (entry.actor_id, entry.entity_id) == (owner.id, "discount_percent_birthday")
    assert (entry.before, entry.after) == ({"value": 15}, {"value": 20})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("discount_percent_birthday", 0),
        ("discount_percent_birthday", 101),
        ("discount_percent_birthday", "15"),
        ("discount_percent_birthday", True),
        ("broadcast_send_rate_per_second", 1001),
        ("birthday_discount_enabled", "yes"),
        ("no_such_setting", 1),
    ],
)
async def test_bad_setting_is_refused_and_changes_nothing(
    session: AsyncSession, key: str, value: object
) -> None:
    with pytest.raises(InvalidSetting) as caught:
        await shop_settings.set_value(session, key, value, Actor.system())
    assert caught.value.code is ErrorCode.INVALID_SETTING
    assert key in caught.value.message
    assert await session.scalar(select(func.count()).select_from(ShopSetting)) == 0
    assert await session.scalar(select(func.count()).select_from(AuditEntry)) == 0


@dataclass
class Telegram:
    fake: FakeTelegram
    channels: TelegramChannels

    def looked_up(self) -> int:
        return self.fake.method_counts["getChat"]


@pytest.fixture
async def telegram() -> AsyncIterator[Telegram]:
    """The fake Bot API on real HTTP, knowing one channel, and the customer bot's lookup."""
    fake = FakeTelegram()
    fake.chats.add_channel("marmelad_dvorik", title="Мармеладный Дворик")
    async with serve_app(create_app(fake)) as url:
        bot = create_bot(CUSTOMER_TOKEN, url)
        try:
            yield Telegram(fake, TelegramChannels(bot))
        finally:
            await bot.session.close()


async def nothing_stored(session: AsyncSession) -> bool:
    settings = await session.scalar(select(func.count()).select_from(ShopSetting))
    audited = await session.scalar(select(func.count()).select_from(AuditEntry))
    return settings == 0 and audited == 0


def test_every_string_setting_has_a_length_and_a_shape() -> None:
    strings = [spec for spec in shop_settings.SPECS.values() if spec.type is str]
    assert strings, "the subscription channel at least"
    for spec in strings:
        assert spec.text is not None and spec.text.max_length <= 100, spec.key
        assert spec.validate(spec.default) == spec.default, spec.key
    with pytest.raises(TypeError, match="TextRule"):
        shop_settings.SettingSpec("motto", str, "", "A string without a rule")


@pytest.mark.parametrize(
    ("value", "reason", "says"),
    [
        ("x" * 100_000, "too_long", "at most 33 characters, not 100000"),
        ("@a", "shape", "5 to 32"),
        ("t.me/x", "shape", "5 to 32"),
        ("https://t.me/marmelad_dvorik", "shape", "as @marmelad_dvorik, not as a link"),
        ("marmelad_dvorik", "shape", "5 to 32"),
        ("@1marmelad", "shape", "starting with a letter"),
        ("@marmelad-dvorik", "shape", "5 to 32"),
        ("@" + "m" * 33, "too_long", "at most 33"),
        ("1234567890", "shape", "-1001234567890"),
        ("@мармелад", "shape", "Latin"),
        (-1001234567890, "type", "must be a str"),
    ],
)
async def test_a_channel_not_written_as_telegram_writes_one_never_reaches_telegram(
    session: AsyncSession, telegram: Telegram, value: object, reason: str, says: str
) -> None:
    with pytest.raises(InvalidSetting) as caught:
        await shop_settings.set_value(
            session, CHANNEL, value, Actor.system(), channels=telegram.channels
        )
    assert caught.value.code is ErrorCode.INVALID_SETTING
    assert caught.value.details == {"key": CHANNEL, "reason": reason}
    assert says in caught.value.message and len(caught.value.message) < 300
    assert telegram.looked_up() == 0
    assert await nothing_stored(session)
    assert await shop_settings.get(session, CHANNEL) == ""


async def test_a_channel_telegram_does_not_know_is_refused_and_changes_nothing(
    session: AsyncSession, telegram: Telegram
) -> None:
    for value in ("@no_such_channel", "-1009999999999"):
        with pytest.raises(InvalidSetting) as caught:
            await shop_settings.set_value(
                session, CHANNEL, value, Actor.system(), channels=telegram.channels
            )
        assert caught.value.details == {"key": CHANNEL, "reason": "not_found"}
        assert f"Telegram knows no channel {value}" in caught.value.message
    assert telegram.looked_up() == 2
    assert await nothing_stored(session)


async def test_a_channel_telegram_knows_is_stored_as_written_and_audited(
    session: AsyncSession, telegram: Telegram
) -> None:
    owner = await make_admin(session)
    actor = Actor.admin(owner.id, owner.email)
    stored = await shop_settings.set_value(
        session, CHANNEL, " @Marmelad_Dvorik ", actor, channels=telegram.channels
    )
    await session.commit()
    assert stored == "@Marmelad_Dvorik"
    assert await shop_settings.get(session, CHANNEL) == "@Marmelad_Dvorik"

    channel_id = str(next(iter(telegram.fake.chats.channels)))
    await shop_settings.set_value(session, CHANNEL, channel_id, actor, channels=telegram.channels)
    await shop_settings.set_value(session, CHANNEL, "", actor, channels=None)  # no channel
    await session.commit()
    assert telegram.looked_up() == 2, "clearing asks Telegram nothing"
    assert await shop_settings.get(session, CHANNEL) == ""
    changes = await session.scalars(
        select(AuditEntry.after).where(AuditEntry.entity_id == CHANNEL).order_by(AuditEntry.id)
    )
    assert list(changes) == [{"value": "@Marmelad_Dvorik"}, {"value": channel_id}, {"value": ""}]


async def test_a_channel_is_not_stored_unchecked(session: AsyncSession) -> None:
    """Telegram unreachable, or no customer bot to ask with: refused, try again later."""
    unreachable = create_bot(CUSTOMER_TOKEN, f"http://127.0.0.1:{free_port()}")
    try:
        for lookup in (TelegramChannels(unreachable, timeout=5), None):
            with pytest.raises(InvalidSetting) as caught:
                await shop_settings.set_value(
                    session, CHANNEL, "@marmelad_dvorik", Actor.system(), channels=lookup
                )
            assert caught.value.details == {"key": CHANNEL, "reason": "unchecked"}
    finally:
        await unreachable.session.close()
    assert await nothing_stored(session)


async def test_a_value_stored_before_the_rules_reads_as_the_default(session: AsyncSession) -> None:
    """The 100,000-character channel an old version took must not reach the bot."""
    session.add(ShopSetting(key=CHANNEL, value="x" * 100_000))
    session.add(ShopSetting(key="discount_percent_birthday", value=500))
    await session.commit()

    assert await shop_settings.get(session, CHANNEL) == ""
    values = await shop_settings.get_all(session)
    assert values[CHANNEL] == ""
    assert values["discount_percent_birthday"] == 15


def _settings_reads(statement: str) -> bool:
    return "shop_settings" in statement and statement.lstrip().upper().startswith("SELECT")


async def test_a_transaction_reads_the_settings_once_and_the_next_sees_a_change(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Issue 19: /start asks two settings and a notice two more; one statement each was a
    round trip each. A transaction reads them all once; another's change shows in the next."""
    async with sessions() as session, session.begin():
        admin = await make_admin(session)
    owner = Actor.admin(admin.id, admin.email)
    with statements_on(engine, _settings_reads) as reads:
        async with sessions() as session, session.begin():
            assert await shop_settings.get(session, "quiet_hours_start") == "22:00"
            assert await shop_settings.get(session, "quiet_hours_end") == "09:00"
            assert await shop_settings.get(session, "subscription_discount_enabled") is True
            assert len(reads) == 1, reads
            if engine.dialect.name != "sqlite":  # SQLite lets no one write meanwhile
                async with sessions() as other, other.begin():
                    await shop_settings.set_value(other, "quiet_hours_start", "21:30", owner)
                read_so_far = len(reads)
                # What another transaction commits meanwhile waits for the next transaction.
                assert await shop_settings.get(session, "quiet_hours_start") == "22:00"
                assert len(reads) == read_so_far
    if engine.dialect.name == "sqlite":
        async with sessions() as session, session.begin():
            await shop_settings.set_value(session, "quiet_hours_start", "21:30", owner)
    async with sessions() as session, session.begin():
        assert await shop_settings.get(session, "quiet_hours_start") == "21:30"


async def test_a_setting_changed_in_a_transaction_reads_as_changed_in_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        admin = await make_admin(session)
        owner = Actor.admin(admin.id, admin.email)
        assert await shop_settings.get(session, "discount_percent_birthday") == 15
        await shop_settings.set_value(session, "discount_percent_birthday", 20, owner)
        assert await shop_settings.get(session, "discount_percent_birthday") == 20
