"""A worker sends a customer notice through its bot to a fake Bot API over real HTTP.

A blocked customer is marked so, a missing one is skipped, and a template's
parse mode reaches Telegram with the text.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain.models import Customer, CustomerStatus, ParseMode, Template
from backend.fake_telegram import FakeTelegram
from backend.workers.tasks import send_notification
from tests.factories import make_customer
from tests.in_process_worker import CUSTOMER_TOKEN, running_with_telegram


async def test_a_notification_is_sent_and_a_blocked_customer_is_marked(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    fake = FakeTelegram()
    async with running_with_telegram(engine, fake) as runtime:
        async with sessions() as session, session.begin():
            anna = await make_customer(session, first_name="Анна")
            boris = await make_customer(session, first_name="Борис")
            gone = await make_customer(session, status=CustomerStatus.BLOCKED)
        fake.chats.blocked.add((CUSTOMER_TOKEN, boris.telegram_id))
        context = {"first_name": "Анна", "percent": 10, "code": "ABC123", "expires_on": "-"}

        outcomes = [
            await send_notification(runtime, person.id, "birthday_discount", context)
            for person in (anna, boris, gone)
        ]
        missing = await send_notification(runtime, 10**9, "birthday_discount", context)

    assert outcomes == ["sent", "blocked", "blocked"] and missing == "missing"
    [sent] = fake.messages_to(anna.telegram_id, token=CUSTOMER_TOKEN)
    assert sent.text is not None and "ABC123" in sent.text and sent.text.startswith("Анна")
    assert fake.messages_to(gone.telegram_id) == []
    async with sessions() as session:
        assert (await session.get(Customer, boris.id)).status is CustomerStatus.BLOCKED  # type: ignore[union-attr]


async def test_a_birthday_template_in_html_reaches_the_customer_formatted(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Before: the worker sent templates without their parse mode, so tags showed as typed."""
    fake = FakeTelegram()
    async with running_with_telegram(engine, fake) as runtime:
        async with sessions() as session, session.begin():
            session.add(
                Template(
                    key="birthday_discount",
                    text="<b>{first_name}, с днём рождения!</b> Код {code}, скидка {percent}%",
                    parse_mode=ParseMode.HTML,
                )
            )
            anna = await make_customer(session, first_name="Анна")
        context = {"first_name": "Анна & <Ко>", "percent": 10, "code": "ABC123", "expires_on": "-"}

        assert await send_notification(runtime, anna.id, "birthday_discount", context) == "sent"

    [sent] = fake.messages_to(anna.telegram_id, token=CUSTOMER_TOKEN)
    assert sent.params["parse_mode"] == "HTML"
    assert sent.message_id is not None
    seen = fake.chats.message(CUSTOMER_TOKEN, anna.telegram_id, sent.message_id)
    assert seen is not None
    bold = "Анна & <Ко>, с днём рождения!"
    assert seen["text"] == f"{bold} Код ABC123, скидка 10%"
    assert seen["entities"] == [{"type": "bold", "offset": 0, "length": len(bold)}]
