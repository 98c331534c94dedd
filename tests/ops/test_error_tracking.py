"""Error tracking: what a real API, bot and worker send to Sentry, and what they never send.

A local stand-in accepts Sentry envelopes over HTTP (`tests/sentry_standin.py`).
Dvorik runs as in production: `dvorik serve` (with both bots on the fake Bot
API) and `dvorik worker` are processes with SENTRY_DSN pointing at the stand-in,
on a SQLite database whose triggers make chosen writes fail the way a bug or
a broken database would:

1. API: an admin changes a customer's phone and note; the UPDATE fails, the
   client gets the masked INTERNAL error, and Sentry one event: the exception,
   tags `process=api` and the request's id, the release and the environment.
2. Bot: a Telegram user sends /start; registering them fails; the bot
   apologises, and Sentry gets the handler's exception under the webhook
   request's id.
3. Worker: the API queues a bulk discount job (its reason names the
   customer); the worker's insert fails; Sentry gets an event with tags
   `process=worker`, `task=bulk_issue_discount` and the id of the request
   that queued the job, in the environment SENTRY_ENVIRONMENT names.
4. Scheduler: `dvorik scheduler` cannot reach Redis and stops with one
   line; its report (tags `process=scheduler`, the release SENTRY_RELEASE
   names) arrives before the process is gone.

None of the personal data those requests, updates and tasks carried (phones,
names, the username, the Telegram id, the note, the reason) nor any secret
(the admin's JWT, bot tokens, the webhook secret) is in any byte that arrived.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.domain import shop_settings
from backend.domain.audit import Actor
from backend.domain.database import create_sessionmaker
from backend.domain.models import AdminRole, Customer, CustomerStatus
from backend.fake_telegram import FakeTelegram, FakeUser, create_app
from backend.fake_telegram.updates import text_message
from backend.observability.error_tracking import default_release
from tests.api import INTERNAL_API_KEY, JWT_SECRET, environment_for, serve_app, signed_in
from tests.databases import fresh_database, run_alembic
from tests.processes import (
    DVORIK,
    Watched,
    free_port,
    redis_server,
    service_environment,
    spawn,
    terminate,
    wait_until,
    wait_until_serving,
)
from tests.sentry_standin import SentryStandIn
from tests.telegram_world import CASHIER_TOKEN, CUSTOMER_TOKEN, SECRET, bots_environment

pytestmark = pytest.mark.slow

ARRIVE_WITHIN = 60.0  # seconds for a report to reach the stand-in (a slow, busy machine)
PHONE = "+7 914 765-43-21"
NOTE = "Любит марципан, внучка Ярослава"
REASON = "Извинение Василисе Прохоровой, +7 914 765-43-21"
VISITOR = FakeUser(id=5_912_345_678, first_name="Милослава", username="miloslava_sweet")
PERSONAL = (
    "765-43-21", "79147654321", "9147654321", "Василис", "Прохоров", "Ярослав", "марципан",
    "Милослав", "miloslava_sweet", str(VISITOR.id), "vasilisa@dvorik.test",
)  # fmt: skip
BOT_SECRETS = (CUSTOMER_TOKEN.split(":")[1], CASHIER_TOKEN.split(":")[1], SECRET)
SECRETS = (*BOT_SECRETS, JWT_SECRET, INTERNAL_API_KEY)
# Writes that fail, as a broken database or a bug would make them.
TRIGGERS = (
    "CREATE TRIGGER edit_fails BEFORE UPDATE OF phone ON customers"
    " BEGIN SELECT RAISE(ABORT, 'forced failure'); END",
    "CREATE TRIGGER sign_up_fails BEFORE INSERT ON customers"
    " BEGIN SELECT RAISE(ABORT, 'forced failure'); END",
    "CREATE TRIGGER issue_fails BEFORE INSERT ON audit_log WHEN NEW.action = 'discount.issue'"
    " BEGIN SELECT RAISE(ABORT, 'forced failure'); END",
)
EDIT = """
mutation($id: Int!, $phone: String!, $note: String!) {
  updateCustomer(id: $id, input: {phone: $phone, note: $note}) { id }
}
"""
BULK = """
mutation($ids: [Int!]!, $reason: String!) {
  bulkIssueDiscount(selection: {ids: $ids}, kind: MANUAL, reason: $reason, percent: 10) {
    affected jobId
  }
}
"""


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, str, list[int]]]:
    """Two customers, an owner's token, bulk jobs from two customers up, the failing writes."""
    engine = await fresh_database("sqlite", tmp_path, "errors")
    await run_alembic(engine, "upgrade", "head")
    sessions = create_sessionmaker(engine)
    async with sessions() as session, session.begin():
        for telegram_id, first_name in ((5_900_000_001, "Василиса"), (5_900_000_002, "Ярослава")):
            session.add(
                Customer(
                    telegram_id=telegram_id,
                    first_name=first_name,
                    last_name="Прохорова",
                    status=CustomerStatus.ACTIVE,
                )
            )
        await shop_settings.set_value(
            session, "bulk_background_threshold", 1, Actor.system("error-tracking-test")
        )
    async with sessions() as session:
        ids = list(await session.scalars(select(Customer.id).order_by(Customer.id)))
    token = await signed_in(sessions, AdminRole.OWNER, email="vasilisa@dvorik.test")
    async with engine.begin() as connection:
        for trigger in TRIGGERS:
            await connection.execute(text(trigger))
    yield engine, token, ids
    await engine.dispose()


async def test_api_bot_and_worker_errors_arrive_tagged_and_without_personal_data(
    database: tuple[AsyncEngine, str, list[int]], tmp_path: Path
) -> None:
    engine, token, ids = database
    sentry, fake = SentryStandIn(), FakeTelegram()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    api_log, worker_log = tmp_path / "api.log", tmp_path / "worker.log"
    with redis_server(tmp_path / "redis.log") as redis:
        async with serve_app(sentry.app) as sentry_url, serve_app(create_app(fake)) as fake_url:
            env = environment_for(
                engine,
                **bots_environment(fake_url),
                REDIS_URL=redis.url,
                SENTRY_DSN=sentry.dsn(sentry_url),
                LOG_LEVEL="INFO",
            )
            api = spawn([*DVORIK, "serve", "--port", str(port)], env, api_log)
            worker = spawn([*DVORIK, "worker"], env | {"SENTRY_ENVIRONMENT": "staging"}, worker_log)
            watched: list[Watched] = [(api, api_log), (worker, worker_log)]
            try:
                await wait_until_serving(f"{base_url}/health", api, api_log)
                async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
                    await _admin_edit_fails(http, token, ids[0], sentry, watched)
                    await _bot_start_fails(http, fake, sentry, watched)
                    await _bulk_job_fails(http, token, ids, sentry, watched)
            finally:
                for process, _ in watched:
                    terminate(process)

    assert not sentry.refused, sentry.refused
    reported = [event.get("tags", {}).get("request_id") for event in sentry.events()]
    assert sorted(reported) == ["bulk-request-1", "edit-request-1", "start-update-1"], reported
    raw = sentry.raw
    for personal in PERSONAL + SECRETS + (token,):
        for form in {personal.encode(), json.dumps(personal)[1:-1].encode()}:
            assert form not in raw, f"{personal!r} reached Sentry"


async def _admin_edit_fails(
    http: httpx.AsyncClient, token: str, customer_id: int, sentry: SentryStandIn, watch: Any
) -> None:
    response = await http.post(
        "/graphql",
        json={"query": EDIT, "variables": {"id": customer_id, "phone": PHONE, "note": NOTE}},
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "edit-request-1"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL", response.text
    event = await _one_event(sentry, "api", "edit-request-1", watch)
    assert event["environment"] == "development"  # ENVIRONMENT, SENTRY_ENVIRONMENT unset
    assert event["release"] == default_release() == "dvorik@0.1.0"
    assert event["logger"] == "dvorik.graphql"
    assert set(_exception_types(event)) == {"IntegrityError"}  # SQLAlchemy's and sqlite3's
    assert "[parameters: [redacted]]" in json.dumps(event, ensure_ascii=False)
    assert event["request"] == {"method": "POST", "url": str(http.base_url.join("/graphql"))}
    assert event["transaction"] == "/graphql"


async def _bot_start_fails(
    http: httpx.AsyncClient, fake: FakeTelegram, sentry: SentryStandIn, watch: Any
) -> None:
    update = {"update_id": 1, "message": text_message(1, VISITOR, "/start", int(time.time()))}
    response = await http.post(
        "/telegram/customer",
        json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "X-Request-ID": "start-update-1"},
    )
    assert response.status_code == 200, response.text
    assert fake.messages_to(VISITOR.id, token=CUSTOMER_TOKEN), "the bot did not apologise"
    event = await _one_event(sentry, "api", "start-update-1", watch)
    assert event["logger"] == "dvorik.bots.customer"
    assert set(_exception_types(event)) == {"IntegrityError"}  # SQLAlchemy's and sqlite3's
    assert event["request"] == {
        "method": "POST",
        "url": str(http.base_url.join("/telegram/customer")),
    }


async def _bulk_job_fails(
    http: httpx.AsyncClient, token: str, ids: list[int], sentry: SentryStandIn, watch: Any
) -> None:
    response = await http.post(
        "/graphql",
        json={"query": BULK, "variables": {"ids": ids, "reason": REASON}},
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "bulk-request-1"},
    )
    assert response.json()["data"]["bulkIssueDiscount"]["jobId"], response.text
    event = await _one_event(sentry, "worker", "bulk-request-1", watch)
    assert event["tags"]["task"] == "bulk_issue_discount"
    assert event["transaction"] == "bulk_issue_discount"
    # The run's own breadcrumbs, from "Executing task" on: not the worker's start nor its sweeps.
    crumbs = [crumb.get("message", "") for crumb in event["breadcrumbs"]["values"]]
    assert crumbs[0].startswith("Executing task bulk_issue_discount"), crumbs[:3]
    assert event["tags"]["task_id"]
    assert event["environment"] == "staging"  # SENTRY_ENVIRONMENT
    assert event["release"] == "dvorik@0.1.0"
    assert set(_exception_types(event)) == {"IntegrityError"}  # SQLAlchemy's and sqlite3's
    assert "[parameters: [redacted]]" in json.dumps(event, ensure_ascii=False)


async def _one_event(
    sentry: SentryStandIn, process: str, request_id: str, watch: Any
) -> dict[str, Any]:
    """The event `process` reported for `request_id`, once it has arrived."""

    def reported() -> list[dict[str, Any]]:
        return [
            event
            for event in sentry.events_of(process)
            if event.get("tags", {}).get("request_id") == request_id
        ]

    async def arrived() -> bool:
        return bool(reported())

    await wait_until(
        arrived, f"a {process} report of {request_id}", seconds=ARRIVE_WITHIN, watch=watch
    )
    return reported()[0]


def _exception_types(event: dict[str, Any]) -> list[str]:
    return [value["type"] for value in event.get("exception", {}).get("values", [])]


async def test_a_scheduler_that_dies_reports_why_before_it_exits(tmp_path: Path) -> None:
    sentry, log = SentryStandIn(), tmp_path / "scheduler.log"
    async with serve_app(sentry.app) as sentry_url:
        env = service_environment(
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
            REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",  # nobody listens there
            SENTRY_DSN=sentry.dsn(sentry_url),
            SENTRY_RELEASE="dvorik@2026.12.1",
        )
        scheduler = spawn([*DVORIK, "scheduler"], env, log)
        try:
            code = await asyncio.wait_for(asyncio.to_thread(scheduler.wait), 120)
        finally:
            terminate(scheduler)
    assert code == 1, log.read_text()
    lines = log.read_text().splitlines()
    assert lines[-1].startswith("Error: Redis unavailable: "), lines
    assert "Traceback" not in log.read_text()
    [event] = sentry.events_of("scheduler")
    assert event["release"] == "dvorik@2026.12.1"
    assert event["environment"] == "development"
    assert event["level"] == "error"
    assert _exception_types(event)[-1] == "ConnectionError"
    assert event["exception"]["values"][-1]["mechanism"]["type"] == "generic"
