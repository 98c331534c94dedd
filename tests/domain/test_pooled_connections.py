"""A pooled connection costs no round trip it does not need, and a dead one never reaches a request.

Issue 19: SQLAlchemy pinged every connection it handed out and rolled back
every connection it took back, after a COMMIT too: two of the nine round trips
of a returning customer's /start. Now (`backend.domain.pooled_connections`) a
connection back from work a moment ago is handed out unasked, one that idled
is pinged and replaced if the server dropped it, and on MariaDB a connection
is rolled back on return only when the server says a transaction is open.

The server counts what it was sent: MariaDB's `Com_admin_commands` counts
pings and `Com_rollback` ROLLBACKs, per connection. A row lock shows whether
a transaction was left open.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from backend.domain import pooled_connections
from backend.domain.database import create_engine, create_sessionmaker
from tests.conftest import SERVER_DATABASES
from tests.database_admin import CONNECTION_ID, database_admin
from tests.databases import create_server_database, drop_server_database

MARIADB = SERVER_DATABASES[:1]  # where the server counts pings and ROLLBACKs per connection
SOON = 0.05  # seconds a test lets a connection idle when it wants a ping


@pytest.fixture(params=SERVER_DATABASES)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def engine(kind: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AsyncEngine]:
    """The application's engine with one pooled connection, on a database with one till row."""
    name = f"dvorik_pool_{os.getpid()}"
    url = await create_server_database(kind, name)
    engine = create_engine(url, pool_size=1)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE tills (id INTEGER PRIMARY KEY, note TEXT)"))
        await connection.execute(text("INSERT INTO tills (id, note) VALUES (1, 'касса')"))
    try:
        yield engine
    finally:
        await engine.dispose()
        await drop_server_database(kind, name)


async def _connection_id(connection: AsyncConnection | AsyncSession, kind: str) -> int:
    return int(await connection.scalar(text(CONNECTION_ID[kind])) or 0)


async def _server_counts(engine: AsyncEngine) -> dict[str, int]:
    """MariaDB's own counts for the pooled connection (the statement itself is no ping)."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SHOW SESSION STATUS WHERE Variable_name IN"
                " ('Com_admin_commands', 'Com_rollback', 'Com_commit')"
            )
        )
        counts = {str(name): int(value) for name, value in rows}
        await connection.commit()
    return counts


async def _till_note(engine: AsyncEngine, note: str) -> None:
    sessions = create_sessionmaker(engine)
    async with sessions() as session, session.begin():
        await session.execute(text("UPDATE tills SET note = :note WHERE id = 1"), {"note": note})


@pytest.mark.parametrize("kind", MARIADB, indirect=True)
async def test_transactions_one_after_another_send_no_ping_and_no_needless_rollback(
    engine: AsyncEngine,
) -> None:
    await _till_note(engine, "утро")
    before = await _server_counts(engine)
    for note in ("полдень", "вечер", "ночь", "утро", "полдень"):
        await _till_note(engine, note)
    after = await _server_counts(engine)
    assert after["Com_commit"] - before["Com_commit"] == 6  # five and the count's own
    assert after["Com_admin_commands"] == before["Com_admin_commands"], "a busy connection pinged"
    assert after["Com_rollback"] == before["Com_rollback"], "a ROLLBACK after a COMMIT"


@pytest.mark.parametrize("kind", MARIADB, indirect=True)
async def test_a_failed_transaction_is_rolled_back_once(engine: AsyncEngine) -> None:
    sessions = create_sessionmaker(engine)
    before = await _server_counts(engine)
    with pytest.raises(RuntimeError):
        async with sessions() as session, session.begin():
            await session.execute(text("UPDATE tills SET note = 'брак' WHERE id = 1"))
            raise RuntimeError("the till's work failed")
    after = await _server_counts(engine)
    assert after["Com_rollback"] - before["Com_rollback"] == 1
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT note FROM tills WHERE id = 1")) == "касса"


@pytest.mark.parametrize("kind", MARIADB, indirect=True)
async def test_a_connection_handed_back_mid_transaction_keeps_no_lock(
    engine: AsyncEngine,
) -> None:
    """Work done on the driver's connection behind SQLAlchemy's back leaves a transaction open
    that SQLAlchemy does not know of: the server's status says so, and it is rolled back."""
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert raw.driver_connection is not None
        cursor = raw.driver_connection.cursor()
        await cursor.execute("SELECT note FROM tills WHERE id = 1 FOR UPDATE")
        await cursor.fetchall()
        await cursor.close()
    other = create_engine(engine.url.render_as_string(hide_password=False), pool_size=1)
    try:
        async with other.begin() as connection:
            await connection.execute(text("SET SESSION innodb_lock_wait_timeout = 2"))
            await connection.execute(text("UPDATE tills SET note = 'свободна' WHERE id = 1"))
    finally:
        await other.dispose()


@pytest.mark.parametrize("idle", ["a moment", "long"])
async def test_a_connection_the_server_dropped_is_replaced_before_a_request_sees_it(
    kind: str, idle: str, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Back a moment ago: the driver saw the server close it. Idle long: the ping finds out."""
    monkeypatch.setattr(pooled_connections, "PING_AFTER_IDLE", 60.0 if idle == "a moment" else SOON)
    async with engine.connect() as connection:
        dropped = await _connection_id(connection, kind)
        await connection.commit()
    async with database_admin(kind, str(engine.url.database)) as admin:
        await admin.kill(dropped)
    await asyncio.sleep(2 * SOON)
    sessions = create_sessionmaker(engine)
    async with sessions() as session, session.begin():
        assert await _connection_id(session, kind) != dropped
        await session.execute(text("UPDATE tills SET note = 'после перезапуска' WHERE id = 1"))


@pytest.mark.parametrize("kind", MARIADB, indirect=True)
async def test_a_connection_that_idled_is_pinged_once(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pooled_connections, "PING_AFTER_IDLE", SOON)
    before = await _server_counts(engine)
    await asyncio.sleep(2 * SOON)
    await _till_note(engine, "после паузы")
    after = await _server_counts(engine)  # at once: no ping
    assert after["Com_admin_commands"] - before["Com_admin_commands"] == 1
