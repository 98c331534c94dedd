"""The HTTP surface: GraphiQL and introspection by setting, CORS for the SPA, readiness."""

from __future__ import annotations

import httpx
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.bots.dispatchers import create_storage
from backend.domain.models import AdminRole, AuditEntry
from tests.api import GraphQLClient, serve, settings_for
from tests.databases import redis_url, require_redis
from tests.factories import make_customer

INTROSPECTION = "{ __schema { queryType { name } } }"
SPA = "https://admin.dvorik.test"
REDIS_URL = redis_url("TEST_REDIS_URL", 15)


async def test_development_serves_graphiql_and_introspection(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        schema = await http.post("/graphql", json={"query": INTROSPECTION})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert schema.json()["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_production_switches_graphiql_and_introspection_off(engine: AsyncEngine) -> None:
    settings = settings_for(engine, graphql_ide=False, cors_origins=SPA)
    async with serve(settings) as server, httpx.AsyncClient(base_url=server.url) as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        schema = await http.post("/graphql", json={"query": INTROSPECTION})
        preflight = await http.options(
            "/graphql",
            headers={
                "Origin": SPA,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        stranger = await http.options(
            "/graphql",
            headers={"Origin": "https://evil.test", "Access-Control-Request-Method": "POST"},
        )
    assert page.status_code != 200 or "graphiql" not in page.text.lower()
    assert schema.json().get("data") is None
    assert preflight.headers.get("access-control-allow-origin") == SPA
    assert stranger.headers.get("access-control-allow-origin") is None


async def test_ready_reports_database_and_embedded_redis(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "database": "ok", "redis": "embedded"}


async def test_audit_entries_carry_the_request_id(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        customer = await make_customer(session)
    marketer = staff[AdminRole.MARKETING]
    edit = 'mutation($id: Int!) { updateCustomer(id: $id, input: {note: "VIP"}) { id } }'
    response = await marketer.http.post(
        "/graphql",
        json={"query": edit, "variables": {"id": customer.id}},
        headers={"Authorization": f"Bearer {marketer.token}", "X-Request-Id": "req-42"},
    )
    assert response.json()["data"]["updateCustomer"]["id"] == customer.id
    async with sessions() as session:
        entry = await session.scalar(select(AuditEntry))
    assert entry is not None and entry.request_id == "req-42"


async def test_ready_checks_redis_when_it_is_configured(engine: AsyncEngine) -> None:
    await require_redis(REDIS_URL)
    readiness = []
    for url in (REDIS_URL, "redis://127.0.0.1:1/0"):
        async with (
            serve(settings_for(engine, redis_url=url)) as server,
            httpx.AsyncClient(base_url=server.url) as http,
        ):
            readiness.append(await http.get("/ready"))
    up, down = readiness
    assert up.status_code == 200 and up.json()["redis"] == "ok"
    assert down.status_code == 503 and down.json()["redis"].startswith("unavailable")


async def test_bot_conversation_state_lives_in_redis_when_configured() -> None:
    await require_redis(REDIS_URL)
    storage = create_storage(REDIS_URL)
    assert isinstance(storage, RedisStorage)
    key = StorageKey(bot_id=1, chat_id=42, user_id=42)
    await storage.set_state(key, "BirthdayForm:waiting")
    assert await create_storage(REDIS_URL).get_state(key) == "BirthdayForm:waiting"
    await storage.set_state(key, None)
    await storage.close()
    assert isinstance(create_storage(None), MemoryStorage)
