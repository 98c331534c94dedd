"""Bot updates during an outage: 503 so Telegram delivers them again, then handled once.

Before, an update that met an unreachable database or Redis was answered 200
(with an apology, or nothing) and its update id recorded: Telegram never sent
it again, and the customer's /start or the cashier's press was lost. Here a
real Dvorik (both bots, real HTTP, the fake Bot API posting to the webhooks)
talks to its database (MariaDB, then PostgreSQL) through a TCP forwarder the
test cuts (as `test_faults_database.py`), or to a redis-server of its own that it kills
(as `test_faults_redis.py`), and each update is posted again as Telegram
would: during the outage (503 again), after it (handled: one customer, one
discount, one redemption, one set of replies) and once more (a duplicate:
nothing new).

Needs MariaDB, PostgreSQL and redis-server: skipped locally without them, failed
under CI=true.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.bots.customer.keyboards import CheckChannel
from backend.domain import cashiers
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.database import create_sessionmaker
from backend.domain.models import Customer, Discount, DiscountStatus, ShopSetting, TelegramUpdate
from backend.fake_telegram import FakeUser
from backend.fake_telegram.models import Delivery
from tests.conftest import SERVER_DATABASES
from tests.customer_cases import subscriptions as customer_subscriptions
from tests.database_admin import server_address
from tests.databases import migrated_database
from tests.processes import RedisServer, redis_server
from tests.tcp_forwarder import Forwarder
from tests.telegram_world import CASHIER_TOKEN, CUSTOMER_TOKEN, Telegram, served_with_bots
from tests.timing import until

pytestmark = [pytest.mark.slow]

Sessions = async_sessionmaker[AsyncSession]
_people = itertools.count(6_300_001)


def someone(first_name: str) -> FakeUser:
    return FakeUser(id=next(_people), first_name=first_name)


@pytest.fixture(scope="module", params=SERVER_DATABASES)
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    """A migrated database on MariaDB, then on PostgreSQL."""
    name = f"dvorik_unavailable_bots_{os.getpid()}"
    async with migrated_database(request.param, name) as engine:
        yield engine


@pytest.fixture
async def sessions(engine: AsyncEngine) -> Sessions:
    """Each test's fake Telegram numbers its updates from 1: forget the last test's."""
    sessions = create_sessionmaker(engine)
    async with sessions() as session, session.begin():
        await session.execute(delete(TelegramUpdate))
    return sessions


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path / "redis.log") as server:
        yield server


@asynccontextmanager
async def bots_through_forwarder(
    engine: AsyncEngine, **settings: Any
) -> AsyncIterator[tuple[Telegram, Forwarder]]:
    """Both bots on the fake Bot API, their database behind a forwarder the test can cut."""
    forwarder = Forwarder(*server_address(engine))
    await forwarder.start()
    through = engine.url.set(host="127.0.0.1", port=forwarder.port).render_as_string(False)
    try:
        async with served_with_bots(engine, database_url=through, **settings) as telegram:
            await telegram.connect_webhooks()
            yield telegram, forwarder
    finally:
        await forwarder.close()


async def again(telegram: Telegram, token: str, delivery: Delivery) -> int:
    """Telegram delivers the same update once more; the webhook's HTTP status."""
    status = (await telegram.fake.deliver(token, delivery["update"]))["status"]
    assert status is not None
    return status


async def subscriptions(sessions: Sessions, user: FakeUser) -> tuple[int, int]:
    """(customers, discounts) the user has: (1, 1) after one /start."""
    return await customer_subscriptions(sessions, user.id)


async def recorded(sessions: Sessions, bot: str, delivery: Delivery) -> bool:
    """Whether the update's id is on record as handled."""
    async with sessions() as session:
        row = await session.get(TelegramUpdate, (bot, delivery["update"]["update_id"]))
    return row is not None


async def test_a_start_during_a_database_outage_is_handled_once_it_is_over(
    engine: AsyncEngine, sessions: Sessions
) -> None:
    async with bots_through_forwarder(engine) as (telegram, forwarder):
        user = someone("Вера")
        await forwarder.cut()
        first = await telegram.fake.send_text(CUSTOMER_TOKEN, user, "/start")
        assert first["status"] == 503, first
        assert await again(telegram, CUSTOMER_TOKEN, first) == 503  # still down
        assert telegram.fake.messages_to(user.id) == []  # no apology, no half answer

        await forwarder.start()
        assert await again(telegram, CUSTOMER_TOKEN, first) == 200
        welcome = telegram.texts_to(user, CUSTOMER_TOKEN)
        assert len(welcome) == 2 and welcome[0].startswith("Здравствуйте, Вера"), welcome
        assert await subscriptions(sessions, user) == (1, 1)

        assert await again(telegram, CUSTOMER_TOKEN, first) == 200  # a duplicate
        assert telegram.texts_to(user, CUSTOMER_TOKEN) == welcome
        assert await subscriptions(sessions, user) == (1, 1)


async def test_a_redemption_during_a_database_outage_is_made_once_it_is_over(
    engine: AsyncEngine, sessions: Sessions
) -> None:
    async with bots_through_forwarder(engine) as (telegram, forwarder):
        customer, cashier = someone("Лиза"), someone("Марина")
        await telegram.fake.send_text(CUSTOMER_TOKEN, customer, "/start")
        async with sessions() as session, session.begin():
            _, invite = await cashiers.invite(
                session, "Марина", "Алеутская, 17", actor=Actor.system(), now=utcnow()
            )
            code = await session.scalar(
                select(Discount.code)
                .join(Customer, Customer.id == Discount.customer_id)
                .where(Customer.telegram_id == customer.id)
            )
        await telegram.fake.send_text(CASHIER_TOKEN, cashier, f"/start {invite}")
        await telegram.fake.send_text(CASHIER_TOKEN, cashier, str(code))
        offer = telegram.fake.messages_to(cashier.id, token=CASHIER_TOKEN)[-1]
        assert offer.reply_markup is not None and offer.message_id is not None, offer.text
        confirm = str(offer.reply_markup["inline_keyboard"][0][0]["callback_data"])
        till_before = len(telegram.texts_to(cashier, CASHIER_TOKEN))
        customer_before = len(telegram.texts_to(customer, CUSTOMER_TOKEN))

        await forwarder.cut()
        press = await telegram.fake.press_button(CASHIER_TOKEN, cashier, confirm, offer.message_id)
        assert press["status"] == 503, press
        assert len(telegram.texts_to(cashier, CASHIER_TOKEN)) == till_before

        await forwarder.start()
        async with sessions() as session:
            assert await session.scalar(select(Discount.status).where(Discount.code == code)) == (
                DiscountStatus.ACTIVE
            )
        assert await again(telegram, CASHIER_TOKEN, press) == 200
        assert await again(telegram, CASHIER_TOKEN, press) == 200  # a duplicate

        till = telegram.texts_to(cashier, CASHIER_TOKEN)[till_before:]
        notices = telegram.texts_to(customer, CUSTOMER_TOKEN)[customer_before:]
        assert len(till) == 1 and str(code) in till[0], till
        assert len(notices) == 1 and str(code) in notices[0], notices
        async with sessions() as session:
            redeemed = await session.scalar(select(Discount).where(Discount.code == code))
        assert redeemed is not None and redeemed.status is DiscountStatus.REDEEMED


async def test_a_start_during_a_redis_outage_is_handled_once_it_is_over(
    engine: AsyncEngine, sessions: Sessions, redis: RedisServer
) -> None:
    """The customer bot keeps its conversation state in Redis and reads it for every update."""
    async with served_with_bots(engine, redis_url=redis.url) as telegram:
        await telegram.connect_webhooks()
        user = someone("Ника")
        redis.kill()
        first = await telegram.fake.send_text(CUSTOMER_TOKEN, user, "/start")
        assert first["status"] == 503, first
        assert telegram.fake.messages_to(user.id) == []
        assert not await recorded(sessions, "customer", first)  # or its redelivery is skipped

        redis.start()
        assert await again(telegram, CUSTOMER_TOKEN, first) == 200
        assert await again(telegram, CUSTOMER_TOKEN, first) == 200  # a duplicate
        welcome = telegram.texts_to(user, CUSTOMER_TOKEN)
        assert len(welcome) == 2 and welcome[0].startswith("Здравствуйте, Ника"), welcome
        assert await subscriptions(sessions, user) == (1, 1)


# --- outages midway: after the claim, after an answer ----------------------------------------

MEMBERSHIP_CHECK_SECONDS = 2.0  # the fake Bot API's delay: the window to cut the database in


@asynccontextmanager
async def channel_required(telegram: Telegram, sessions: Sessions) -> AsyncIterator[int]:
    """The shop asks newcomers to join its channel first: /start asks Telegram about them."""
    channel = int(telegram.fake.chats.add_channel("dvorik_sladosti")["id"])
    async with sessions() as session, session.begin():
        session.add(ShopSetting(key="subscription_channel", value=str(channel)))
    try:
        yield channel
    finally:
        async with sessions() as session, session.begin():
            await session.execute(
                delete(ShopSetting).where(ShopSetting.key == "subscription_channel")
            )


async def test_an_update_claimed_before_the_database_went_away_is_handled_on_redelivery(
    engine: AsyncEngine, sessions: Sessions
) -> None:
    """The claim was committed, then the database went; giving it back failed too. This
    process remembers the update (`AbandonedClaims`), so the redelivery is not a duplicate."""
    async with (
        bots_through_forwarder(engine) as (telegram, forwarder),
        channel_required(telegram, sessions) as channel,
    ):
        user = someone("Тая")
        telegram.fake.slow(MEMBERSHIP_CHECK_SECONDS, chat_id=channel)
        sending = asyncio.create_task(telegram.fake.send_text(CUSTOMER_TOKEN, user, "/start"))
        asking = lambda: telegram.fake.method_counts["getChatMember"] == 1  # noqa: E731
        await until(asking, "the membership check (the update is claimed by then)")
        await forwarder.cut()
        first = await sending
        assert first["status"] == 503, first
        assert telegram.fake.messages_to(user.id) == []
        assert await recorded(sessions, "customer", first)  # could not be given back

        telegram.fake.slow(0, chat_id=channel)
        await forwarder.start()
        assert await again(telegram, CUSTOMER_TOKEN, first) == 200
        assert await again(telegram, CUSTOMER_TOKEN, first) == 200  # a duplicate
        welcome = telegram.texts_to(user, CUSTOMER_TOKEN)  # a member of the channel already
        assert len(welcome) == 2 and welcome[0].startswith("Здравствуйте, Тая"), welcome
        assert await subscriptions(sessions, user) == (1, 1)


async def test_an_outage_after_the_bot_answered_is_not_delivered_again(
    engine: AsyncEngine, sessions: Sessions
) -> None:
    """«I have joined» is acknowledged (a toast), then the database goes: what was said cannot
    be unsaid, and a redelivery would say it again, so the update counts as handled (200)."""
    async with bots_through_forwarder(engine) as (telegram, forwarder):
        user = someone("Ульяна")
        await telegram.fake.send_text(CUSTOMER_TOKEN, user, "/start")
        welcome = telegram.fake.messages_to(user.id, token=CUSTOMER_TOKEN)[-1]
        assert welcome.message_id is not None, welcome
        telegram.fake.slow(MEMBERSHIP_CHECK_SECONDS)  # every call: the toast too
        pressing = asyncio.create_task(
            telegram.fake.press_button(
                CUSTOMER_TOKEN, user, CheckChannel().pack(), welcome.message_id
            )
        )
        toasting = lambda: telegram.fake.method_counts["answerCallbackQuery"] == 1  # noqa: E731
        await until(toasting, "the button's acknowledgement")
        await forwarder.cut()
        press = await pressing
        telegram.fake.slow(0)
        await forwarder.start()
        assert press["status"] == 200, press
        assert await again(telegram, CUSTOMER_TOKEN, press) == 200

        after = telegram.fake.messages_to(user.id, token=CUSTOMER_TOKEN)
        assert after[-1].method == "answerCallbackQuery", after  # no apology
        assert [sent.method for sent in after].count("answerCallbackQuery") == 1, after
