"""Customer care: what the shop does for one customer who calls or writes.

A marketer unsubscribes a customer who phoned, and the audit log says why; an
owner erases a customer who asked for it under 152-FZ: codes cancelled, KPI
counts unchanged, no personal data left, and the same person coming back to
the bot is a new customer. Lesser roles cannot erase.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from backend.domain import bulk, jobs, kpi
from backend.domain.audit import Actor
from backend.domain.clock import business_date, utcnow
from backend.domain.models import (
    AdminRole,
    AuditEntry,
    Customer,
    CustomerStatus,
    Discount,
    DiscountKind,
    DiscountStatus,
)
from backend.domain.models.notifications import CustomerNotification
from backend.fake_telegram import FakeUser
from tests.api import GraphQLClient, RunningServer
from tests.factories import make_customer, make_discount
from tests.graphql.test_graphql_subscriptions import Socket
from tests.telegram_world import CUSTOMER_TOKEN, Telegram, fresh, telegram_world

__all__ = ["telegram_world"]

SET_SUBSCRIPTION = """
mutation($customerId: Int!, $subscribed: Boolean!, $reason: String!) {
  setCustomerSubscription(customerId: $customerId, subscribed: $subscribed, reason: $reason) {
    id status
  }
}
"""
ERASE = """
mutation($customerId: Int!, $reason: String!) {
  eraseCustomer(customerId: $customerId, reason: $reason) {
    cancelledCodes customer { id firstName lastName username phone birthday note tags status }
  }
}
"""
ISSUE = "mutation($input: IssueDiscountInput!) { issueDiscount(input: $input) { code } }"
UPDATE = """
mutation($id: Int!, $input: UpdateCustomerInput!) { updateCustomer(id: $id, input: $input) { id } }
"""
AUDIT = """
query($entityId: String!) {
  auditLog(entityType: "customer", entityId: $entityId) {
    edges { node { action actorLabel before after } }
  }
}
"""
KPI = """
query($start: Date!, $end: Date!) {
  kpi(start: $start, end: $end) {
    customers { total new }
    discounts { overall { issued redeemed converted } byKind { kind issued redeemed } }
  }
}
"""
CODE = re.compile(r"\b[A-Z0-9]{8}\b")


@pytest.fixture
async def telegram(
    telegram_world: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> Telegram:
    return await fresh(telegram_world)


async def test_a_marketer_unsubscribes_a_customer_who_phoned_and_the_audit_says_why(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        customer = await make_customer(session)
    marketer, owner = staff[AdminRole.MARKETING], staff[AdminRole.OWNER]
    reason = "Позвонила 6 декабря, просит больше не присылать рассылки"

    blank = await marketer(SET_SUBSCRIPTION, customerId=customer.id, subscribed=False, reason=" ")
    assert blank.error_code == "VALIDATION"
    readonly = await staff[AdminRole.READONLY](
        SET_SUBSCRIPTION, customerId=customer.id, subscribed=False, reason=reason
    )
    assert readonly.error_code == "FORBIDDEN"

    done = await marketer(SET_SUBSCRIPTION, customerId=customer.id, subscribed=False, reason=reason)
    assert done.data["setCustomerSubscription"] == {"id": customer.id, "status": "UNSUBSCRIBED"}

    log = (await owner(AUDIT, entityId=str(customer.id))).data["auditLog"]["edges"]
    assert [edge["node"] for edge in log] == [
        {
            "action": "customer.unsubscribe",
            "actorLabel": "marketing@dvorik.test",
            "before": {"status": "active"},
            "after": {"status": "unsubscribed", "reason": reason},
        }
    ]

    back = await marketer(
        SET_SUBSCRIPTION, customerId=customer.id, subscribed=True, reason="Перезвонила, передумала"
    )
    assert back.data["setCustomerSubscription"]["status"] == "ACTIVE"
    missing = await marketer(SET_SUBSCRIPTION, customerId=999_999, subscribed=True, reason="x")
    assert missing.error_code == "NOT_FOUND"


async def test_readonly_and_marketing_cannot_erase_a_customer(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        customer = await make_customer(session, phone="+79140000001")
    for role in (AdminRole.READONLY, AdminRole.MARKETING):
        refused = await staff[role](ERASE, customerId=customer.id, reason="письмо")
        assert refused.error_code == "FORBIDDEN"
    async with sessions() as session:
        kept = await session.get(Customer, customer.id)
    assert kept is not None and kept.phone == "+79140000001" and kept.first_name == "Анна"


async def kpi_figures(report: kpi.KpiReport) -> dict[str, object]:
    return {
        "total": report.customers.total,
        "new": report.customers.new,
        "issued": report.discounts.overall.issued,
        "redeemed": report.discounts.overall.redeemed,
        "converted": report.discounts.overall.converted,
    }


async def test_an_erased_customer_leaves_no_personal_data_and_comes_back_as_new(
    telegram: Telegram,
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    owner, marketer = staff[AdminRole.OWNER], staff[AdminRole.MARKETING]
    person = FakeUser(
        id=6_100_001, first_name="Зарина", last_name="Мухаметова", username="zarina_m"
    )
    await telegram.fake.send_text(CUSTOMER_TOKEN, person, "/start")
    welcome_code = CODE.findall(telegram.texts_to(person, CUSTOMER_TOKEN)[-1])[-1]
    async with sessions() as session, session.begin():
        customer = (
            await session.scalars(select(Customer).where(Customer.telegram_id == person.id))
        ).one()
        # A customer of the shop for a while: joined ten days ago, used a code then.
        customer.created_at = utcnow() - timedelta(days=10)
        old = await make_discount(
            session,
            customer,
            kind=DiscountKind.MANUAL,
            status=DiscountStatus.REDEEMED,
            issued_at=utcnow() - timedelta(days=9),
        )
    personal = {
        "phone": "+7 914 555-12-34",
        "birthday": "1990-03-08",
        "note": "Аллергия на орехи, живёт на Светланской",
        "addTags": ["vip-зарина"],
    }
    assert (await marketer(UPDATE, id=customer.id, input=personal)).data
    # A code given by hand: the customer is told by name (a message row with «Зарина»).
    given = await marketer(ISSUE, input={"customerId": customer.id, "reason": "Извинение"})
    manual_code = given.data["issueDiscount"]["code"]

    today = business_date(utcnow(), telegram.dvorik.runtime.settings.zone)
    start = today - timedelta(days=30)
    zone = telegram.dvorik.runtime.settings.zone

    async def live_figures() -> dict[str, object]:
        async with sessions() as session:
            report = await kpi.kpi_live(
                session,
                start=start,
                end=today,
                granularity=kpi.Granularity.DAY,
                zone=zone,
                now=utcnow(),
            )
        return await kpi_figures(report)

    before = await live_figures()
    assert before == {"total": 1, "new": 1, "issued": 3, "redeemed": 1, "converted": 1}

    erased = await owner(ERASE, customerId=customer.id, reason="Письмо от 6 декабря, 152-ФЗ")
    assert erased.data["eraseCustomer"] == {
        "cancelledCodes": 2,
        "customer": {
            "id": customer.id,
            "firstName": "",
            "lastName": None,
            "username": None,
            "phone": None,
            "birthday": None,
            "note": None,
            "tags": [],
            "status": "UNSUBSCRIBED",
        },
    }
    again = await owner(ERASE, customerId=customer.id, reason="ещё раз")
    assert again.error_code == "CONFLICT"
    # Nobody can write the data back by hand either.
    put_back = await marketer(UPDATE, id=customer.id, input=personal)
    assert put_back.error_code == "CONFLICT"

    # The welcome code no longer works; the redeemed one stays in the history.
    async with sessions() as session:
        codes = {
            row.code: row.status
            for row in await session.scalars(
                select(Discount).where(Discount.customer_id == customer.id)
            )
        }
    assert codes == {
        welcome_code: DiscountStatus.CANCELLED,
        manual_code: DiscountStatus.CANCELLED,
        old.code: DiscountStatus.REDEEMED,
    }

    # KPI: counted from the rows (live) and through the API (the daily rollup, filled now).
    assert await live_figures() == before
    report = (await owner(KPI, start=start.isoformat(), end=today.isoformat())).data["kpi"]
    assert report["customers"] == {"total": 1, "new": 1}
    assert report["discounts"]["overall"] == {"issued": 3, "redeemed": 1, "converted": 1}

    # Nothing personal is left in the customers table, the audit log or the messages.
    # The phone as typed and as stored, not "914" alone: a timestamp's microseconds can
    # hold that (16:34:10.978914 failed this test once).
    traces = ["Зарина", "Мухаметова", "zarina", "914 555", "5551234", "1990-03-08", "орехи"]
    traces += ["Светланской", "vip-зарина", str(person.id)]
    async with sessions() as session:
        rows = await session.scalars(select(Customer).options(selectinload(Customer.tags)))
        stored = [
            json.dumps(
                {column: str(getattr(row, column)) for column in Customer.__table__.columns.keys()}  # noqa: SIM118
                | {"tags": row.tag_names},
                ensure_ascii=False,
            )
            for row in rows
        ]
        audit_rows = [
            json.dumps([e.actor_label, e.entity_id, e.before, e.after], ensure_ascii=False)
            for e in await session.scalars(select(AuditEntry))
        ]
        messages = [
            json.dumps([row.text, row.context], ensure_ascii=False)
            for row in await session.scalars(select(CustomerNotification))
        ]
    assert messages, "the manual code's notice is kept (without its values)"
    for text in stored + audit_rows + messages:
        assert not [trace for trace in traces if trace in text], text
    log = (await owner(AUDIT, entityId=str(customer.id))).data["auditLog"]["edges"]
    assert log[0]["node"]["action"] == "customer.erase"
    assert log[0]["node"]["after"] == {
        "reason": "Письмо от 6 декабря, 152-ФЗ",
        "cancelled_codes": 2,
    }

    # The same person writes /start again: a new customer, with a new welcome code.
    await telegram.fake.send_text(CUSTOMER_TOKEN, person, "/start")
    answer = telegram.texts_to(person, CUSTOMER_TOKEN)[-1]
    new_code = CODE.findall(answer)[-1]
    assert new_code != welcome_code
    async with sessions() as session:
        newcomer = (
            await session.scalars(select(Customer).where(Customer.telegram_id == person.id))
        ).one()
        old_row = await session.get(Customer, customer.id)
    assert newcomer.id != customer.id and newcomer.first_name == "Зарина"
    assert newcomer.status is CustomerStatus.ACTIVE and newcomer.birthday is None
    assert old_row is not None and old_row.telegram_id < 0


# --- Bulk jobs: progress by id and over the subscription ------------------------------------

JOB = "query($id: String!) { job(id: $id) { id kind state total done error } }"
JOBS = "{ jobs(first: 5) { totalCount edges { node { id state done total } } } }"
JOB_PROGRESS = "subscription($id: String!) { jobProgress(id: $id) { state total done } }"
WAIT = 10.0


class JobWatcher(Socket):
    """The subscription tests' client, reading `jobProgress` snapshots."""

    async def next_job_progress(self) -> dict[str, Any] | None:
        """The next snapshot, or None when the subscription completed."""
        message = await self.receive()
        if message["type"] == "complete":
            return None
        assert message["type"] == "next", message
        progress: dict[str, Any] = message["payload"]["data"]["jobProgress"]
        return progress


@asynccontextmanager
async def watching(server: RunningServer, token: str, key: str) -> AsyncIterator[JobWatcher]:
    url = "ws" + server.url.removeprefix("http") + "/graphql"
    protocol = Subprotocol("graphql-transport-ws")
    async with connect(url, subprotocols=[protocol], open_timeout=WAIT) as connection:
        watcher = JobWatcher(connection)
        await watcher.send({"type": "connection_init", "payload": {"Authorization": token}})
        assert (await watcher.receive())["type"] == "connection_ack"
        payload = {"query": JOB_PROGRESS, "variables": {"id": key}}
        await watcher.send({"id": "1", "type": "subscribe", "payload": payload})
        yield watcher


async def queued_tag_job(
    sessions: async_sessionmaker[AsyncSession], count: int
) -> tuple[str, list[int]]:
    """`count` customers and a queued tagging job over them, as bulkTagCustomers leaves it."""
    async with sessions() as session, session.begin():
        ids = [(await make_customer(session)).id for _ in range(count)]
        job = await jobs.create(session, "bulk_add_tags", len(ids), admin_id=None, now=utcnow())
    return job.key, ids


def tagging(gates: dict[int, asyncio.Event] | None = None) -> jobs.Step:
    """The bulk tagging step; with `gates`, the step for slice n waits for gates[n]."""
    slices = itertools.count()

    async def step(session: AsyncSession, ids: Sequence[int]) -> int:
        gate = (gates or {}).get(next(slices))
        if gate is not None:
            await gate.wait()
        return await bulk.tag_customers(
            session, ids, add=["осень"], remove=[], actor=Actor.system("bulk")
        )

    return step


async def test_a_bulk_jobs_progress_is_readable_by_id_and_streamed(
    server: RunningServer,
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    key, ids = await queued_tag_job(sessions, 5)
    readonly = staff[AdminRole.READONLY]
    queued = (await readonly(JOB, id=key)).data["job"]
    assert queued == {
        "id": key,
        "kind": "bulk_add_tags",
        "state": "QUEUED",
        "total": 5,
        "done": 0,
        "error": None,
    }

    gates = {1: asyncio.Event(), 2: asyncio.Event()}
    async with watching(server, f"Bearer {readonly.token}", key) as watcher:
        assert await watcher.next_job_progress() == {"state": "QUEUED", "total": 5, "done": 0}
        running = asyncio.create_task(jobs.run_in_steps(sessions, key, ids, tagging(gates), size=2))
        seen = []
        while (progress := await watcher.next_job_progress()) is not None:
            seen.append(progress)
            if progress["done"] == 2:
                gates[1].set()
            if progress["done"] == 4:
                gates[2].set()
        assert await running == 5
    # Each slice's progress reached the viewer before the next slice began.
    assert {"state": "RUNNING", "total": 5, "done": 2} in seen
    assert {"state": "RUNNING", "total": 5, "done": 4} in seen
    assert seen[-1] == {"state": "COMPLETED", "total": 5, "done": 5}
    assert [item["done"] for item in seen] == sorted(item["done"] for item in seen)

    listed = (await readonly(JOBS)).data["jobs"]
    assert listed["edges"][0]["node"] == {"id": key, "state": "COMPLETED", "done": 5, "total": 5}
    missing = await readonly(JOB, id="no-such-job")
    assert missing.data["job"] is None


async def test_a_failed_job_says_so_and_a_second_run_resumes_where_it_stopped(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    key, ids = await queued_tag_job(sessions, 5)
    good = tagging()

    async def breaks_on_the_second_slice(session: AsyncSession, part: Sequence[int]) -> int:
        if part[0] != ids[0]:
            raise RuntimeError("the database went away")
        return await good(session, part)

    with pytest.raises(RuntimeError):
        await jobs.run_in_steps(sessions, key, ids, breaks_on_the_second_slice, size=2)
    failed = (await staff[AdminRole.MARKETING](JOB, id=key)).data["job"]
    assert (failed["state"], failed["done"], failed["error"]) == ("FAILED", 2, "RuntimeError")

    # The broker delivers the task again: only the customers not yet tagged are handled.
    assert await jobs.run_in_steps(sessions, key, ids, tagging(), size=2) == 3
    assert await jobs.run_in_steps(sessions, key, ids, tagging(), size=2) == 5  # done already
    done = (await staff[AdminRole.MARKETING](JOB, id=key)).data["job"]
    assert (done["state"], done["done"], done["error"]) == ("COMPLETED", 5, None)
    async with sessions() as session:
        tagged = await session.scalars(
            select(AuditEntry.entity_id).where(AuditEntry.action == "customer.tags")
        )
        assert sorted(int(entity or 0) for entity in tagged) == ids
