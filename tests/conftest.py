"""Fixtures: every database test runs once on SQLite, once on MariaDB and once on PostgreSQL."""

from __future__ import annotations

import faulthandler
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from hypothesis import settings
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain.clock import utcnow
from backend.domain.database import create_sessionmaker
from backend.domain.models import AdminRole, Base
from backend.graphql import tokens
from tests.api import JWT_SECRET, GraphQLClient, RunningServer, serve, settings_for
from tests.databases import in_ci, migrated_engine
from tests.factories import make_admin

# A test running longer than this is hung: its process prints every thread's stack
# and exits, so pytest-xdist reports that test as failed and the run goes on,
# instead of CI waiting for its 25-minute limit (a worker test hung twice this way).
HUNG_AFTER_SECONDS = 600


@pytest.fixture(autouse=True)
def fail_a_hung_test() -> Iterator[None]:
    faulthandler.dump_traceback_later(HUNG_AFTER_SECONDS, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


# CI explores the same examples every run, so a red build is reproducible.
settings.register_profile("ci", derandomize=True, print_blob=True)
if in_ci():
    settings.load_profile("ci")

DATABASES = [
    "sqlite",
    pytest.param("mariadb", marks=pytest.mark.mariadb),
    pytest.param("postgresql", marks=pytest.mark.postgresql),
]
# The database servers, for tests of processes, races and faults that SQLite is not for.
SERVER_DATABASES = DATABASES[1:]


@pytest.fixture(scope="session", params=DATABASES)
async def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AsyncEngine]:
    """A migrated database, shared by the tests of one backend."""
    async for engine in migrated_engine(request, tmp_path_factory, "dvorik_test"):
        yield engine


@pytest.fixture
async def sessions(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Session factory on a database emptied after the test."""
    yield create_sessionmaker(engine)
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(delete(table))
    if engine.dialect.name == "postgresql":
        # PostgreSQL serves 100 connections in all: the dozens a fan-out test (fifty
        # tills) opened go back to the server, not idle in this process for the session.
        await engine.dispose()


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One session for arranging and checking; the test commits what it needs."""
    async with sessions() as session:
        yield session


@pytest.fixture(scope="session")
async def server(engine: AsyncEngine) -> AsyncIterator[RunningServer]:
    """A Dvorik server (real HTTP, uvicorn in this event loop) on this backend's test database."""
    async with serve(settings_for(engine)) as running:
        yield running


@pytest.fixture(scope="session")
def base_url(server: RunningServer) -> str:
    return server.url


@pytest.fixture
async def graphql(
    base_url: str, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[GraphQLClient]:
    """An anonymous GraphQL client; `.as_(token)` signs it in."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        yield GraphQLClient(http)


@pytest.fixture
async def staff(
    graphql: GraphQLClient, sessions: async_sessionmaker[AsyncSession]
) -> dict[AdminRole, GraphQLClient]:
    """One signed-in client per role (tokens issued directly: bcrypt is slow on purpose)."""
    clients = {}
    for role in AdminRole:
        async with sessions() as session, session.begin():
            admin = await make_admin(session, email=f"{role.value}@dvorik.test", role=role)
        issued = tokens.issue(admin, secret=JWT_SECRET, now=utcnow())
        clients[role] = graphql.as_(issued.token)
    return clients
