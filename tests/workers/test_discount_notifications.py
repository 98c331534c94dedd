"""A discount a marketer gives reaches the customer: the code and its QR, at a decent hour.

Before: `issueDiscount` and `bulkIssueDiscount` created codes and the customer
was never told. Now the API plans a notice in the issue's transaction, queues
it after the commit, and a worker sends it through the broadcast engine's
rate limit: at night (Asia/Vladivostok) it waits until morning, a customer
who blocked the bot or unsubscribed gets nothing (and the answer says so),
and a task delivered twice sends once. On SQLite and MariaDB, over real HTTP
and a fake Bot API.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain import discounts, notifications, shop_settings
from backend.domain.audit import Actor
from backend.domain.clock import last_valid_day
from backend.domain.errors import InvalidSetting
from backend.domain.models import AdminRole, AuditEntry, CustomerStatus, DiscountKind
from backend.domain.models.notifications import CustomerNotification, NotificationStatus
from backend.telegram.qr_codes import qr_png
from tests.api import GraphQLClient, RunningServer
from tests.factories import make_customer
from tests.notification_worker import notification_worker
from tests.task_queues import SentTasks, sent_by

VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")
ACTOR = Actor.system("test")
# 23:00 on 10 March 2036 in Vladivostok: a night still to come, whatever today's date.
ELEVEN_PM = datetime(2036, 3, 10, 23, 0, tzinfo=VLADIVOSTOK)
NINE_AM = datetime(2036, 3, 11, 9, 0, tzinfo=VLADIVOSTOK)

ISSUE = """
mutation($input: IssueDiscountInput!) {
  issueDiscount(input: $input) {
    id code percent expiresAt
    notification { id status reason notBefore }
  }
}
"""
DISCOUNT = "query($id: Int!) { discount(id: $id) { notification { status sentAt } } }"
BULK = """
mutation($ids: [Int!]!) {
  bulkIssueDiscount(selection: {ids: $ids}, kind: PROMO, reason: "Весенняя акция", percent: 15) {
    affected jobId
  }
}
"""


async def set_setting(sessions: async_sessionmaker[AsyncSession], key: str, value: object) -> None:
    async with sessions() as session, session.begin():
        await shop_settings.set_value(session, key, value, ACTOR)


async def no_quiet_hours(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The shop switched quiet hours off (start = end): the tests that use the real clock."""
    await set_setting(sessions, "quiet_hours_start", "12:00")
    await set_setting(sessions, "quiet_hours_end", "12:00")


def queue_of(server: RunningServer) -> SentTasks:
    """What the API queued; emptied first, since ids start again after each test's cleanup."""
    return sent_by(server)


def planned_sends(server: RunningServer) -> list[dict[str, object]]:
    return [kw for name, kw in queue_of(server).enqueued if name == "send_planned_notification"]


def last_day(expires_at: datetime) -> str:
    """The last day a code is usable, as the customer reads it."""
    return last_valid_day(expires_at, VLADIVOSTOK).strftime("%d.%m.%Y")


async def test_a_marketer_gives_a_manual_discount_and_the_customer_gets_the_code_with_its_qr(
    engine: AsyncEngine,
    server: RunningServer,
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await no_quiet_hours(sessions)
    queue_of(server).enqueued.clear()
    async with sessions() as session, session.begin():
        anna = await make_customer(session, first_name="Анна")
    marketer = staff[AdminRole.MARKETING]

    given = (
        await marketer(
            ISSUE, input={"customerId": anna.id, "reason": "Извинение за ожидание", "percent": 12}
        )
    ).data["issueDiscount"]

    notice = given["notification"]
    assert notice["status"] == "PENDING" and notice["reason"] is None
    queued = planned_sends(server)
    assert {"notification_id": notice["id"]} in queued  # queued after the commit

    async with notification_worker(engine) as worker:
        outcome = await worker.run("send_planned_notification", notification_id=notice["id"])
        [message] = worker.received(anna.telegram_id)

    assert outcome == "sent"
    code = given["code"]
    expires = datetime.fromisoformat(given["expiresAt"])
    assert message.method == "sendPhoto"
    assert message.caption == (
        f"Анна, для вас персональная скидка 12% — код {code}, действует до {last_day(expires)} "
        "включительно. Покажите QR-код на кассе."
    )
    assert message.photo_size == len(qr_png(code))  # the code's QR, as in «Мои скидки»
    after = (await marketer(DISCOUNT, id=given["id"])).data["discount"]["notification"]
    assert after["status"] == "SENT" and after["sentAt"] is not None


async def test_given_at_23_in_vladivostok_the_notice_waits_until_9(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Default quiet hours 22:00-09:00 in the shop's zone; the worker's clock is moved."""
    async with sessions() as session, session.begin():
        boris = await make_customer(session, first_name="Борис")
        discount = await discounts.issue(
            session,
            boris.id,
            discounts.IssueRequest(DiscountKind.MANUAL, reason="Поздний звонок"),
            actor=ACTOR,
            now=ELEVEN_PM,
            zone=VLADIVOSTOK,
        )
        plan = await notifications.plan_discount_notices(
            session, [discount], actor=ACTOR, now=ELEVEN_PM, zone=VLADIVOSTOK
        )
        code = discount.code

    assert plan.queued == [] and len(plan.held) == 1
    async with sessions() as session:
        row = await session.get(CustomerNotification, plan.held[0])
        assert row is not None and row.not_before == NINE_AM.astimezone(UTC)

    async with notification_worker(engine) as worker:
        early = await worker.run("send_planned_notification", notification_id=plan.held[0])
        at_night = await worker.run(
            "deliver_due_notifications", now=(NINE_AM - timedelta(minutes=1)).isoformat()
        )
        assert worker.received(boris.telegram_id) == []
        morning = await worker.run("deliver_due_notifications", now=NINE_AM.isoformat())
        [message] = worker.received(boris.telegram_id)

    assert (early, at_night, morning) == ("held", {}, {"sent": 1})
    assert message.caption is not None and f"код {code}" in message.caption


async def test_a_bulk_issue_to_50_customers_goes_out_at_the_engines_rate(
    engine: AsyncEngine,
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await no_quiet_hours(sessions)
    await set_setting(sessions, "broadcast_send_rate_per_second", 20)
    async with sessions() as session, session.begin():
        people = [await make_customer(session, first_name=f"Гость {n}") for n in range(50)]

    result = (await staff[AdminRole.MARKETING](BULK, ids=[person.id for person in people])).data[
        "bulkIssueDiscount"
    ]
    assert result == {"affected": 50, "jobId": None}

    async with notification_worker(engine) as worker:
        outcomes = await worker.run("deliver_due_notifications")
        arrivals = sorted(
            message.time for person in people for message in worker.received(person.telegram_id)
        )
        first = worker.received(people[0].telegram_id)[0]

    assert outcomes == {"sent": 50}
    assert first.caption is not None and first.caption.startswith(
        "Гость 0, акция в «Мармеладном Дворике»: скидка 15% — код "
    )
    # 20 a second: 49 gaps of at least 1/20 s, and never more than 20 in one second
    # (one more for a request late by the loop's lag on a loaded machine).
    assert arrivals[-1] - arrivals[0] >= 49 / 20 * 0.95
    busiest = max(sum(1 for t in arrivals if start <= t < start + 1.0) for start in arrivals)
    assert busiest <= 21
    async with sessions() as session:
        summary = await session.scalar(
            select(AuditEntry.after).where(AuditEntry.action == "customers.bulk_discount_notices")
        )
    assert summary == {"count": 50, "queued": 50, "held_for_quiet_hours": 0, "not_sent": {}}


async def test_a_blocked_customer_gets_nothing_and_the_answer_says_so(
    engine: AsyncEngine,
    server: RunningServer,
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await no_quiet_hours(sessions)
    queue_of(server).enqueued.clear()
    async with sessions() as session, session.begin():
        gone = await make_customer(session, status=CustomerStatus.BLOCKED)
        left = await make_customer(session, status=CustomerStatus.UNSUBSCRIBED)

    given = (
        await staff[AdminRole.MARKETING](
            ISSUE, input={"customerId": gone.id, "reason": "Компенсация"}
        )
    ).data["issueDiscount"]
    bulk = await staff[AdminRole.MARKETING](BULK, ids=[left.id])

    assert given["notification"]["status"] == "SKIPPED"
    assert given["notification"]["reason"] == "blocked"
    assert bulk.data["bulkIssueDiscount"]["affected"] == 1
    queued = planned_sends(server)
    assert {"notification_id": given["notification"]["id"]} not in queued
    async with notification_worker(engine) as worker:
        assert await worker.run("deliver_due_notifications") == {}
        assert worker.received(gone.telegram_id) == worker.received(left.telegram_id) == []
    async with sessions() as session:
        skipped = (
            await session.execute(
                select(AuditEntry.entity_id, AuditEntry.after).where(
                    AuditEntry.action == "notification.skipped"
                )
            )
        ).all()
        summary = await session.scalar(
            select(AuditEntry.after).where(AuditEntry.action == "customers.bulk_discount_notices")
        )
    assert sorted((entity, after["reason"]) for entity, after in skipped) == [
        (str(gone.id), "blocked"),
        (str(left.id), "unsubscribed"),
    ]
    assert summary is not None and summary["not_sent"] == {"unsubscribed": 1}


async def test_a_redelivered_notification_task_sends_once(
    engine: AsyncEngine,
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The broker may deliver a task again (a worker died before its ack), even at once."""
    await no_quiet_hours(sessions)
    async with sessions() as session, session.begin():
        vera = await make_customer(session, first_name="Вера")
    given = (
        await staff[AdminRole.MARKETING](ISSUE, input={"customerId": vera.id, "reason": "Отзыв"})
    ).data["issueDiscount"]
    notification_id = given["notification"]["id"]

    async with notification_worker(engine) as worker:
        together = await asyncio.gather(
            *(
                worker.run("send_planned_notification", notification_id=notification_id)
                for _ in range(3)
            )
        )
        later = await worker.run("send_planned_notification", notification_id=notification_id)
        swept = await worker.run("deliver_due_notifications")
        received = worker.received(vera.telegram_id)

    assert sorted(together) == ["done", "done", "sent"] and later == "done" and swept == {}
    assert len(received) == 1


async def test_a_notice_left_in_doubt_by_a_killed_worker_is_never_sent_again(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Claimed, then the worker died before Telegram answered: a second code message is
    worse than a lost one (the code is in «Мои скидки» anyway)."""
    async with sessions() as session, session.begin():
        olga = await make_customer(session)
        discount = await discounts.issue(
            session,
            olga.id,
            discounts.IssueRequest(DiscountKind.PROMO, reason="Акция"),
            actor=ACTOR,
            now=datetime.now(UTC),
        )
        row = await notifications.plan_discount_notice(
            session, discount, actor=ACTOR, now=datetime.now(UTC), zone=VLADIVOSTOK
        )
        row.status, row.not_before = NotificationStatus.SENDING, datetime.now(UTC)

    async with notification_worker(engine) as worker:
        again = await worker.run("send_planned_notification", notification_id=row.id)
        swept = await worker.run("deliver_due_notifications")
        assert worker.received(olga.telegram_id) == []
    assert (again, swept) == ("done", {})


@pytest.mark.parametrize("value", ["25:00", "7:00", "22:60", "22-00", "", "полночь"])
async def test_quiet_hours_take_a_clock_time_only(
    sessions: async_sessionmaker[AsyncSession], value: str
) -> None:
    async with sessions() as session, session.begin():
        with pytest.raises(InvalidSetting):
            await shop_settings.set_value(session, "quiet_hours_start", value, ACTOR)
        assert await shop_settings.get(session, "quiet_hours_start") == "22:00"
        assert await shop_settings.get(session, "quiet_hours_end") == "09:00"
        await shop_settings.set_value(session, "quiet_hours_end", "08:30", ACTOR)
        assert await shop_settings.get(session, "quiet_hours_end") == "08:30"


@pytest.mark.parametrize(
    ("local", "goes_at"),
    [
        (datetime(2036, 3, 10, 21, 59), datetime(2036, 3, 10, 21, 59)),
        (datetime(2036, 3, 10, 22, 0), datetime(2036, 3, 11, 9, 0)),
        (datetime(2036, 3, 11, 0, 30), datetime(2036, 3, 11, 9, 0)),
        (datetime(2036, 3, 11, 9, 0), datetime(2036, 3, 11, 9, 0)),
        (datetime(2036, 3, 11, 13, 0), datetime(2036, 3, 11, 13, 0)),
    ],
)
def test_quiet_hours_from_22_to_9_move_a_notice_to_the_morning(
    local: datetime, goes_at: datetime
) -> None:
    quiet = notifications.QuietHours(
        datetime(2000, 1, 1, 22).time(), datetime(2000, 1, 1, 9).time()
    )
    moment = local.replace(tzinfo=VLADIVOSTOK).astimezone(UTC)
    assert quiet.first_moment_after(moment, VLADIVOSTOK) == goes_at.replace(tzinfo=VLADIVOSTOK)
