"""Each scheduled and bulk task, sent through the embedded (in-memory) broker, on both databases.

What a task enqueues in turn is recorded (the `runtime` fixture), not run.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq import AsyncBroker

from backend.domain import broadcasts
from backend.domain.audit import Actor
from backend.domain.models import (
    Broadcast,
    BroadcastStatus,
    Discount,
    DiscountStatus,
    LoginAttempt,
    RevokedToken,
    TelegramUpdate,
)
from backend.domain.models.staff import LoginOutcome
from backend.runtime import Runtime
from backend.workers.schedule import SCHEDULE
from tests.factories import make_customer, make_discount
from tests.in_process_worker import BIRTHDAY, NINE_AM, birthday_count, enqueued, run


async def statuses(
    sessions: async_sessionmaker[AsyncSession], model: type[Broadcast] | type[Discount]
) -> dict[int, Any]:
    """Each row's status by id, as the database has it after the task ran."""
    async with sessions() as session:
        return dict((await session.execute(select(model.id, model.status))).all())


async def test_birthday_task_issues_and_greets_once_a_day(
    broker: AsyncBroker, runtime: Runtime, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        vera = await make_customer(session, birthday=BIRTHDAY, first_name="Вера")
        await make_customer(session, birthday=BIRTHDAY, first_name="Олег")
        await make_customer(session, birthday=date(1990, 3, 11))

    first = await run(broker, "give_birthday_discounts", now=NINE_AM.isoformat())
    again = await run(broker, "give_birthday_discounts", now=(NINE_AM + timedelta(hours=5)))

    assert len(first) == 2 and again == []
    assert await birthday_count(sessions) == 2
    greetings = enqueued(runtime, "send_customer_notification")
    assert len(greetings) == 2
    to_vera = next(g for g in greetings if g["customer_id"] == vera.id)
    async with sessions() as session:
        discount = await session.scalar(select(Discount).where(Discount.customer_id == vera.id))
    assert discount is not None
    assert to_vera["template_key"] == "birthday_discount"
    assert to_vera["context"] == {
        "first_name": "Вера",
        "percent": discount.percent,
        "code": discount.code,
        "expires_on": "24.03.2026",  # given on the 10th, 14 days: through the whole 24th
    }


async def test_start_due_broadcasts_starts_each_once_when_run_twice_at_once(
    broker: AsyncBroker, runtime: Runtime, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        await make_customer(session)
        actor = Actor.system("test")
        due = await broadcasts.create(session, title="Скидки", text="Привет!", actor=actor)
        later = await broadcasts.create(session, title="Потом", text="Привет!", actor=actor)
        for broadcast, minutes in ((due, 1), (later, 60)):
            await broadcasts.schedule(
                session,
                broadcast.id,
                NINE_AM + timedelta(minutes=minutes),
                actor=actor,
                now=NINE_AM,
            )
    now = (NINE_AM + timedelta(minutes=2)).isoformat()

    results = await asyncio.gather(
        run(broker, "start_due_broadcasts", now=now), run(broker, "start_due_broadcasts", now=now)
    )

    assert sorted(results) == [[], [due.id]]
    assert enqueued(runtime, "process_broadcast") == [{"broadcast_id": due.id}]
    assert await statuses(sessions, Broadcast) == {
        due.id: BroadcastStatus.SENDING,
        later.id: BroadcastStatus.SCHEDULED,
    }


async def test_expire_task_expires_what_is_past_its_date_once(
    broker: AsyncBroker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        customer = await make_customer(session)
        short = await make_discount(session, customer, issued_at=NINE_AM, valid_days=1)
        month = await make_discount(session, customer, valid_days=30)  # from today
    # Valid through the whole next day in the shop's zone: not a moment before its end.
    last_moment = (short.expires_at - timedelta(microseconds=1)).isoformat()
    assert await run(broker, "expire_discounts", now=last_moment) == 0
    at_midnight = short.expires_at.isoformat()
    assert await run(broker, "expire_discounts", now=at_midnight) == 1
    assert await run(broker, "expire_discounts", now=at_midnight) == 0
    assert await run(broker, "expire_discounts") == 0  # no `now`: the wall clock
    assert await statuses(sessions, Discount) == {
        short.id: DiscountStatus.EXPIRED,
        month.id: DiscountStatus.ACTIVE,
    }


async def test_the_hourly_clean_up_forgets_old_records_and_keeps_recent_ones(
    broker: AsyncBroker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Seen Telegram updates are kept 2 days, sign-in attempts 15 minutes, revocations
    until their token expires: the scheduled clean-up drops what is older, only that."""
    async with sessions() as session, session.begin():
        for update_id, age in ((1, timedelta(days=3)), (2, timedelta(days=1))):
            session.add(
                TelegramUpdate(bot="customer", update_id=update_id, received_at=NINE_AM - age)
            )
        for age in (timedelta(hours=1), timedelta(minutes=5)):
            session.add(
                LoginAttempt(
                    email="a@example.com",
                    ip="10.0.0.1",
                    net="10.0.0.0/24",
                    at=NINE_AM - age,
                    outcome=LoginOutcome.FAILED,
                )
            )
        session.add(RevokedToken(jti="expired", expires_at=NINE_AM - timedelta(minutes=1)))
        session.add(RevokedToken(jti="valid", expires_at=NINE_AM + timedelta(minutes=10)))
    assert "forget-old-records" in {slot.schedule_id for slot in SCHEDULE}

    dropped = await run(broker, "forget_old_records", now=NINE_AM.isoformat())
    again = await run(broker, "forget_old_records", now=NINE_AM.isoformat())

    assert (dropped["telegram_updates"], dropped["sign_in"], dropped["task_runs"]) == (1, 2, 0)
    assert (again["telegram_updates"], again["sign_in"], again["task_runs"]) == (0, 0, 0)
    async with sessions() as session:
        assert list(await session.scalars(select(TelegramUpdate.update_id))) == [2]
        assert list(await session.scalars(select(LoginAttempt.at))) == [
            NINE_AM - timedelta(minutes=5)
        ]
        assert list(await session.scalars(select(RevokedToken.jti))) == ["valid"]


async def test_bulk_tasks_run_through_the_broker(
    broker: AsyncBroker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        people = [await make_customer(session) for _ in range(3)]
    ids = [person.id for person in people]

    tagged = await run(
        broker, "bulk_add_tags", customer_ids=ids, add=["vip"], remove=[], admin_id=None
    )
    given = await run(
        broker,
        "bulk_issue_discount",
        customer_ids=ids,
        kind="manual",
        reason="Праздник",
        percent=7,
        valid_days=10,
        admin_id=None,
    )

    assert (tagged, given) == (3, 3)
