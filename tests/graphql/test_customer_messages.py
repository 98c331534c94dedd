"""Customer care writes to one customer: `sendCustomerMessage`, over real HTTP and a fake Bot API.

The message goes through the broadcast sender and its rate limit (a worker
sends it), at once even in quiet hours (a person chose to send it), is
audited, is for marketing and owner only, and is refused with
CUSTOMER_NOT_ACTIVE for a customer who blocked the bot or unsubscribed.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain import shop_settings
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.models import ActorKind, AdminRole, AuditEntry, CustomerStatus
from backend.domain.models.notifications import CustomerNotification
from tests.api import GraphQLClient, RunningServer
from tests.factories import make_customer
from tests.notification_worker import notification_worker
from tests.task_queues import SentTasks, sent_by

SEND = """
mutation($customerId: Int!, $text: String, $templateKey: String, $parseMode: ParseMode! = PLAIN) {
  sendCustomerMessage(
    customerId: $customerId, text: $text, templateKey: $templateKey, parseMode: $parseMode
  ) { id customerId status notBefore }
}
"""
ACTOR = Actor.system("test")


def queue_of(server: RunningServer) -> SentTasks:
    return sent_by(server)


async def quiet_right_now(sessions: async_sessionmaker[AsyncSession], zone: object) -> None:
    """Quiet hours around the present moment, whatever the hour the test runs at."""
    local = utcnow().astimezone(zone)  # type: ignore[arg-type]
    async with sessions() as session, session.begin():
        for key, moment in (
            ("quiet_hours_start", local - timedelta(hours=1)),
            ("quiet_hours_end", local + timedelta(hours=1)),
        ):
            await shop_settings.set_value(session, key, moment.strftime("%H:%M"), ACTOR)


async def test_a_marketer_writes_to_a_customer_at_night_and_the_message_goes_at_once(
    engine: AsyncEngine,
    server: RunningServer,
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await quiet_right_now(sessions, server.runtime.settings.zone)
    queue_of(server).enqueued.clear()
    async with sessions() as session, session.begin():
        anna = await make_customer(session, first_name="Анна")

    answer = (
        await staff[AdminRole.MARKETING](
            SEND,
            customerId=anna.id,
            text="Анна, ваш заказ <b>готов</b>: заберите его до 20:00.",
            parseMode="HTML",
        )
    ).data["sendCustomerMessage"]
    assert answer["customerId"] == anna.id and answer["status"] == "PENDING"
    queued = [kw for name, kw in queue_of(server).enqueued if name == "send_planned_notification"]
    assert queued == [{"notification_id": answer["id"]}]

    async with notification_worker(engine) as worker:
        outcome = await worker.run("send_planned_notification", notification_id=answer["id"])
        [message] = worker.received(anna.telegram_id)

    assert outcome == "sent"
    assert message.method == "sendMessage" and message.params["parse_mode"] == "HTML"
    assert message.text == "Анна, ваш заказ <b>готов</b>: заберите его до 20:00."
    async with sessions() as session:
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "customer.message")
        )
    assert entry is not None and entry.entity_id == str(anna.id)
    assert entry.actor_kind is ActorKind.ADMIN and entry.actor_id is not None
    assert entry.after is not None and entry.after["text"].startswith("Анна, ваш заказ")


async def test_a_template_is_filled_with_the_customers_name(
    engine: AsyncEngine,
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        oleg = await make_customer(session, first_name="Олег")

    answer = (await staff[AdminRole.OWNER](SEND, customerId=oleg.id, templateKey="welcome")).data[
        "sendCustomerMessage"
    ]
    async with notification_worker(engine) as worker:
        await worker.run("send_planned_notification", notification_id=answer["id"])
        [message] = worker.received(oleg.telegram_id)

    assert message.text == "Здравствуйте, Олег! Добро пожаловать в «Мармеладный Дворик» 🍬"


async def test_readonly_may_not_write_and_bad_input_changes_nothing(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        vera = await make_customer(session)

    refused = await staff[AdminRole.READONLY](SEND, customerId=vera.id, text="Привет")
    broken = await staff[AdminRole.MARKETING](
        SEND, customerId=vera.id, text="<b>скидка", parseMode="HTML"
    )
    both = await staff[AdminRole.MARKETING](
        SEND, customerId=vera.id, text="Привет", templateKey="welcome"
    )
    unknown_template = await staff[AdminRole.MARKETING](
        SEND, customerId=vera.id, templateKey="no_such_template"
    )
    nobody = await staff[AdminRole.MARKETING](SEND, customerId=10**9, text="Привет")

    assert refused.error_code == "FORBIDDEN"
    assert broken.error_code == "INVALID_MARKUP"
    assert both.error_code == "VALIDATION"
    assert unknown_template.error_code == "NOT_FOUND"
    assert nobody.error_code == "NOT_FOUND"
    async with sessions() as session:
        rows = await session.scalar(select(func.count()).select_from(CustomerNotification))
        audited = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "customer.message")
        )
    assert (rows, audited) == (0, 0)


async def test_an_unsubscribed_or_blocked_customer_is_refused_with_a_typed_error(
    engine: AsyncEngine,
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        left = await make_customer(session, status=CustomerStatus.UNSUBSCRIBED)
        gone = await make_customer(session, status=CustomerStatus.BLOCKED)

    answers = [
        await staff[AdminRole.OWNER](SEND, customerId=person.id, text="Вернитесь к нам!")
        for person in (left, gone)
    ]

    assert [answer.error_code for answer in answers] == ["CUSTOMER_NOT_ACTIVE"] * 2
    async with notification_worker(engine) as worker:
        assert await worker.run("deliver_due_notifications") == {}
        assert worker.received(left.telegram_id) == worker.received(gone.telegram_id) == []
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(CustomerNotification)) == 0
