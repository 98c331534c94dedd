"""Read replicas on a real primary and replica, MariaDB and PostgreSQL: bots, workers, an outage.

One API without Redis (embedded: tasks run in the API, pins in its memory),
both bots on a fake Bot API, reading from a replica that follows a primary.
A customer's /start (a bot webhook), a marketer's direct message (a
mutation) and its sending (a worker task) read nothing on the replica. Then
the replica is killed: /ready says so and stays 200, queries read fresh
answers from the primary; started again, the replica catches up and serves
queries again. The app never wrote on the replica.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from backend.domain.models import AdminRole, Customer
from backend.fake_telegram import FakeUser
from tests.api import GraphQLClient, signed_in
from tests.databases import run_alembic
from tests.read_replicas import REPLICATED, reads, ready, replica_is
from tests.replication import Replication, wait_until
from tests.telegram_world import CUSTOMER_TOKEN, Telegram, served_with_bots

pytestmark = pytest.mark.slow

SEND = """
mutation($customerId: Int!, $text: String!) {
  sendCustomerMessage(customerId: $customerId, text: $text) { id status }
}
"""
NOTE = """
mutation($id: Int!, $note: String!) { updateCustomer(id: $id, input: {note: $note}) { id note } }
"""
READ = "query($id: Int!) { customer(id: $id) { firstName note } }"


@pytest.fixture(params=list(REPLICATED))
async def replication(request: pytest.FixtureRequest) -> AsyncIterator[Replication]:
    async with REPLICATED[request.param]() as pair:
        yield pair


@pytest.fixture
async def world(replication: Replication) -> AsyncIterator[Telegram]:
    """The API with both bots, embedded (no Redis), reading from the replica."""
    await run_alembic(replication.primary_app_engine, "upgrade", "head")
    async with served_with_bots(
        replication.primary_app_engine,
        database_read_url=replication.replica.app_url(),
        database_read_max_lag_seconds=10.0,
    ) as world:
        await world.connect_webhooks()
        await wait_until(lambda: replica_is(world.dvorik, "ok"), "the replica to serve reads")
        yield world


async def test_bots_workers_and_mutations_stay_off_the_replica_and_an_outage_falls_back(
    replication: Replication, world: Telegram
) -> None:
    sessions = world.dvorik.runtime.sessions
    marketer = await signed_in(sessions, AdminRole.MARKETING, "marketer@dvorik.test")
    reader = await signed_in(sessions, AdminRole.READONLY, "reader@dvorik.test")
    before = await replication.app_reads()

    user = FakeUser(id=6_100_001, first_name="Маша", last_name="Ким", username=None)
    delivery = await world.fake.send_text(CUSTOMER_TOKEN, user, "/start instagram")
    assert delivery["status"] == 200
    async with sessions() as session:
        customer_id = await session.scalar(
            select(Customer.id).where(Customer.telegram_id == user.id)
        )
    assert customer_id is not None
    replies = len(world.fake.messages_to(user.id, token=CUSTOMER_TOKEN))
    async with httpx.AsyncClient(base_url=world.dvorik.url, timeout=30) as http:
        as_marketer, as_reader = GraphQLClient(http, marketer), GraphQLClient(http, reader)
        sent = await as_marketer(SEND, customerId=customer_id, text="Ваш заказ готов")
        assert sent.data["sendCustomerMessage"]["status"] == "PENDING"
        await world.fake.wait_for_messages(user.id, replies + 1, within=30, token=CUSTOMER_TOKEN)
        # The webhook, the mutation and the worker's task read nothing on the replica.
        assert await replication.app_reads() == before

        await wait_until(replication.caught_up, "the replica to catch up")
        on_replica = reads("replica", "fresh")
        seen = await as_reader(READ, id=customer_id)
        assert seen.data["customer"] == {"firstName": "Маша", "note": None}
        assert reads("replica", "fresh") > on_replica

        # The replica dies: /ready says so (still 200), queries read the primary.
        replication.replica.kill()
        noted = await as_marketer(NOTE, id=customer_id, note="любит пастилу")
        assert noted.data["updateCustomer"]["note"] == "любит пастилу"
        fresh = await as_reader(READ, id=customer_id)  # the probe may not have noticed yet
        assert fresh.data["customer"]["note"] == "любит пастилу"
        await wait_until(lambda: replica_is(world.dvorik, "unreachable"), "/ready to tell")
        assert "reads on primary" in str((await ready(world.dvorik))["replica"])
        unreachable = reads("primary", "unreachable")
        fresh = await as_reader(READ, id=customer_id)
        assert fresh.data["customer"]["note"] == "любит пастилу"
        assert reads("primary", "unreachable") > unreachable

        # Started again, it catches up and serves queries again.
        await replication.restart_replica()
        await wait_until(replication.caught_up, "the restarted replica to catch up", within=60)
        await wait_until(lambda: replica_is(world.dvorik, "ok"), "the replica to serve again")
        on_replica = reads("replica", "fresh")
        back = await as_reader(READ, id=customer_id)
        assert back.data["customer"]["note"] == "любит пастилу"
        assert reads("replica", "fresh") > on_replica

    assert await replication.app_writes() == []
