"""The figures the dashboard and the alerts rest on, as an operator's /metrics shows them.

* broadcasts sending, the longest silence of one (no live run writes its
  heartbeat), the send rate that applies: read from the database when
  Prometheus scrapes, so they say what holds now;
* whether the database and Redis answer (`dvorik_dependency_up`), and a figure
  that could not be read left out rather than shown stale;
* redemptions at the till, counted once each, when they have committed;
* background tasks by name and outcome, timed, and how many run now.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain import broadcasts, cashiers, shop_settings
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.database import create_sessionmaker
from backend.domain.models import Broadcast
from backend.fake_telegram import FakeUser
from backend.observability.task_metrics import TaskMetrics
from backend.task_queue import TaskiqTaskQueue, create_broker
from tests.api import INTERNAL_API_KEY, RunningServer, serve, settings_for
from tests.databases import fresh_database, run_alembic
from tests.factories import make_customer
from tests.processes import free_port, wait_until
from tests.telegram_world import CASHIER_TOKEN, CUSTOMER_TOKEN, Telegram, fresh, telegram_world

__all__ = ["telegram_world"]
ACTOR = Actor.system("monitoring-test")
Figures = dict[tuple[str, frozenset[tuple[str, str]]], float]
_ids = itertools.count(5_700_001)


async def scrape(server: RunningServer) -> Figures:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        response = await http.get(
            "/metrics", headers={"Authorization": f"Bearer {INTERNAL_API_KEY}"}
        )
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def figure(figures: Figures, name: str, **labels: str) -> float | None:
    return figures.get((name, frozenset(labels.items())))


@pytest.fixture
async def own_database(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A database of this test alone: what is 'sending' is only what the test started."""
    engine = await fresh_database("sqlite", tmp_path, "monitoring")
    await run_alembic(engine, "upgrade", "head")
    yield engine
    await engine.dispose()


# --- Broadcasts, read at scrape time ---------------------------------------------------------


async def age(sessions: async_sessionmaker[AsyncSession], broadcast_id: int) -> None:
    """The broadcast last changed 5 minutes ago; its last heartbeat came 4 minutes ago."""
    now = utcnow()
    async with sessions() as session, session.begin():
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(
                updated_at=now - timedelta(minutes=5), worker_seen_at=now - timedelta(minutes=4)
            )
        )


async def test_broadcasts_sending_and_their_silence_are_read_when_scraped(
    own_database: AsyncEngine,
) -> None:
    sessions = create_sessionmaker(own_database)
    async with serve(settings_for(own_database)) as server:  # no bots: nobody sends
        quiet = await scrape(server)
        assert figure(quiet, "dvorik_broadcasts_sending") == 0
        assert figure(quiet, "dvorik_broadcast_silence_seconds") == 0
        assert figure(quiet, "dvorik_broadcast_send_rate_limit") == 25  # the shop's default

        async with sessions() as session, session.begin():
            await make_customer(session)
            draft = await broadcasts.create(session, title="Акция", text="Привет!", actor=ACTOR)
            await broadcasts.send_now(session, draft.id, actor=ACTOR, now=utcnow())
            await shop_settings.set_value(session, "broadcast_send_rate_per_second", 40, ACTOR)
        started = await scrape(server)
        assert figure(started, "dvorik_broadcasts_sending") == 1
        assert 0 <= figure(started, "dvorik_broadcast_silence_seconds") < 60  # type: ignore[operator]
        assert figure(started, "dvorik_broadcast_send_rate_limit") == 40

        await age(sessions, draft.id)  # no worker has written its heartbeat for 4 minutes
        stalled = figure(await scrape(server), "dvorik_broadcast_silence_seconds")
        assert stalled is not None and 240 <= stalled < 300

        async with sessions() as session, session.begin():  # a live run beats again
            assert await broadcasts.record_heartbeat(session, draft.id, now=utcnow())
        alive = figure(await scrape(server), "dvorik_broadcast_silence_seconds")
        assert alive is not None and alive < 60

        await age(sessions, draft.id)
        async with sessions() as session, session.begin():
            await broadcasts.pause(session, draft.id, actor=ACTOR)  # paused is not stalled
        paused = await scrape(server)
        assert figure(paused, "dvorik_broadcasts_sending") == 0
        assert figure(paused, "dvorik_broadcast_silence_seconds") == 0


# --- Dependencies ------------------------------------------------------------------------------


async def test_dependencies_are_up_or_down_and_unread_figures_are_left_out(
    server: RunningServer, own_database: AsyncEngine
) -> None:
    embedded = await scrape(server)  # the shared test server: no Redis
    assert figure(embedded, "dvorik_dependency_up", dependency="database") == 1
    assert figure(embedded, "dvorik_dependency_up", dependency="redis") is None
    assert figure(embedded, "dvorik_broadcasts_sending") is not None

    no_redis = settings_for(own_database, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with serve(no_redis) as server_without_redis:
        figures = await scrape(server_without_redis)
    assert figure(figures, "dvorik_dependency_up", dependency="database") == 1
    assert figure(figures, "dvorik_dependency_up", dependency="redis") == 0

    gone = f"mysql+asyncmy://dvorik:x@127.0.0.1:{free_port()}/dvorik"
    async with serve(settings_for(own_database, database_url=gone)) as server_without_database:
        figures = await scrape(server_without_database)  # still answers, at once
    assert figure(figures, "dvorik_dependency_up", dependency="database") == 0
    for name in (
        "dvorik_broadcasts_sending",
        "dvorik_broadcast_silence_seconds",
        "dvorik_broadcast_send_rate_limit",
    ):
        assert figure(figures, name) is None, name  # not the last figure read elsewhere


# --- Redemptions at the till --------------------------------------------------------------------


@pytest.fixture
async def telegram(telegram_world: Telegram) -> Telegram:
    return await fresh(telegram_world)


def someone(first_name: str) -> FakeUser:
    return FakeUser(id=next(_ids), first_name=first_name, last_name="Ли", username=None)


async def test_a_redemption_is_counted_once_by_kind_when_it_committed(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer = someone("Лена")
    await telegram.fake.send_text(CUSTOMER_TOKEN, customer, "/start")  # a subscription code
    line = telegram.texts_to(customer, CUSTOMER_TOKEN)[-1]
    code = next(w.strip(".,") for w in line.split() if len(w.strip(".,")) == 8 and w.isupper())
    async with sessions() as session, session.begin():
        _, invite = await cashiers.invite(
            session, "Ольга", "Алеутская, 17", actor=ACTOR, now=utcnow()
        )
    olga = someone("Ольга")
    await telegram.fake.send_text(CASHIER_TOKEN, olga, f"/start {invite}")
    await telegram.fake.send_text(CASHIER_TOKEN, olga, code)
    offer = telegram.fake.messages_to(olga.id, token=CASHIER_TOKEN)[-1]
    assert offer.reply_markup is not None and offer.message_id is not None, offer.text
    confirm = str(offer.reply_markup["inline_keyboard"][0][0]["callback_data"])
    name = "dvorik_discount_redemptions_total"
    before = await scrape(telegram.dvorik)

    await telegram.fake.press_button(CASHIER_TOKEN, olga, confirm, offer.message_id)
    await telegram.fake.press_button(CASHIER_TOKEN, olga, confirm, offer.message_id)  # used
    after = await scrape(telegram.dvorik)

    assert "погашена" in "".join(telegram.texts_to(olga, CASHIER_TOKEN))
    delta = {
        kind: (figure(after, name, kind=kind) or 0) - (figure(before, name, kind=kind) or 0)
        for kind in ("subscription", "birthday", "manual", "promo")
    }
    assert delta == {"subscription": 1, "birthday": 0, "manual": 0, "promo": 0}


# --- Background tasks ----------------------------------------------------------------------------


async def test_tasks_are_counted_by_name_and_outcome_and_timed(server: RunningServer) -> None:
    def count(figures: Figures, outcome: str) -> float:
        return figure(figures, "dvorik_tasks_total", task="expire_discounts", outcome=outcome) or 0

    before = await scrape(server)
    assert (
        figure(before, "dvorik_tasks_total", task="process_broadcast", outcome="error") is not None
    )
    await server.runtime.tasks.enqueue("expire_discounts")
    await server.runtime.tasks.enqueue("expire_discounts", no_such_argument=1)  # raises
    await server.runtime.tasks.wait_idle()  # type: ignore[attr-defined]
    after = await scrape(server)

    assert count(after, "ok") - count(before, "ok") == 1
    assert count(after, "error") - count(before, "error") == 1
    durations = "dvorik_task_duration_seconds_count"
    assert (figure(after, durations, task="expire_discounts") or 0) - (
        figure(before, durations, task="expire_discounts") or 0
    ) == 2
    assert figure(after, "dvorik_tasks_running", task="expire_discounts") == 0


async def test_a_task_is_running_until_it_ends() -> None:
    queue = TaskiqTaskQueue(create_broker(None))
    release = asyncio.Event()

    async def waits() -> None:
        await release.wait()

    def running() -> float | None:
        return REGISTRY.get_sample_value("dvorik_tasks_running", {"task": "monitoring_waits"})

    queue.broker.register_task(waits, task_name="monitoring_waits")
    queue.broker.add_middlewares(TaskMetrics(["monitoring_waits"]))
    assert running() == 0  # the series exists before the first run
    await queue.enqueue("monitoring_waits")

    async def started() -> bool:
        return running() == 1

    await wait_until(started, "the task running", seconds=30)
    release.set()
    await queue.close()  # after the task ended
    assert running() == 0
