"""A /start commits once: its update's record goes in with the subscription.

Issue 19: the webhook took each update's record in a transaction of its own,
/start read the shop's channel setting in a second and subscribed the
customer in a third. /start now does all three in one (`claims_update`), so
the database sees one commit per /start of a shop without a channel, and a
repeated delivery of the same update backs out with nothing said and
nothing changed.
"""

from __future__ import annotations

import itertools

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain.models import TelegramUpdate
from backend.fake_telegram import FakeUser
from tests.customer_cases import subscriptions
from tests.statements import commits_on, statements_on
from tests.telegram_world import CUSTOMER_TOKEN, Telegram, fresh, telegram_world

__all__ = ["telegram_world"]

_people = itertools.count(6_410_001)


def writes(statement: str) -> bool:
    return statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))


async def test_a_start_writes_its_record_and_the_subscription_in_one_transaction(
    telegram_world: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    telegram = await fresh(telegram_world)
    engine = telegram.dvorik.runtime.engine  # the served Dvorik's own, where its writes go
    user = FakeUser(id=next(_people), first_name="Зоя")
    first = await telegram.fake.send_text(CUSTOMER_TOKEN, user, "/start")
    assert telegram.texts_to(user, CUSTOMER_TOKEN)[0].startswith("Здравствуйте, Зоя")

    counted = commits_on(engine, requests_only=True)  # the server's own ticks left out
    with counted as commits, statements_on(engine, writes) as written:
        again = await telegram.fake.send_text(CUSTOMER_TOKEN, user, "/start")
    assert again["status"] == 200
    assert "уже" in telegram.texts_to(user, CUSTOMER_TOKEN)[-1]  # already subscribed
    record = [s for s in written if "telegram_updates" in s]
    assert len(record) == 1, written
    assert commits == ["COMMIT"]  # the record, the settings read and the subscription

    said = len(telegram.texts_to(user, CUSTOMER_TOKEN))
    status = (await telegram.fake.deliver(CUSTOMER_TOKEN, first["update"]))["status"]
    assert status == 200
    assert len(telegram.texts_to(user, CUSTOMER_TOKEN)) == said  # a duplicate says nothing
    async with sessions() as session:
        recorded = await session.get(TelegramUpdate, ("customer", first["update"]["update_id"]))
    assert await subscriptions(sessions, user.id) == (1, 1) and recorded is not None
