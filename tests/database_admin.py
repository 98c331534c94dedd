"""A DBA's hand on a database server (MariaDB or PostgreSQL), for the fault tests.

Fault tests hold the application's requests on a table lock, list the
connections the application has open on its database, and kill them from the
server side, as an operator (or a server restart) would. Each server says
this in its own SQL; `DatabaseAdmin` says it once for both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from tests.databases import MARIADB_SERVER_URL, POSTGRESQL_SERVER_URL

DEFAULT_PORTS = {"mariadb": 3306, "postgresql": 5432}
# The id of the connection a statement runs on, as `DatabaseAdmin.connections` lists it.
CONNECTION_ID = {"mariadb": "SELECT CONNECTION_ID()", "postgresql": "SELECT pg_backend_pid()"}


def server_address(engine: AsyncEngine) -> tuple[str, int]:
    """Host and port of the server `engine` is on, where a TCP forwarder in front of it points."""
    kind = "postgresql" if engine.dialect.name == "postgresql" else "mariadb"
    return engine.url.host or "127.0.0.1", engine.url.port or DEFAULT_PORTS[kind]


class DatabaseAdmin:
    """The DBA's own connection to the server `kind`, watching database `database`."""

    def __init__(self, kind: str, database: str, connection: AsyncConnection) -> None:
        self.kind = kind
        self.database = database
        self.connection = connection

    async def lock_customers(self) -> None:
        """Hold every read and write of `customers` until `unlock`."""
        if self.kind == "mariadb":
            await self.connection.execute(text(f"LOCK TABLES `{self.database}`.customers WRITE"))
        else:
            await self.connection.execute(text("BEGIN"))
            await self.connection.execute(text("LOCK TABLE customers IN ACCESS EXCLUSIVE MODE"))

    async def unlock(self) -> None:
        await self.connection.execute(text("UNLOCK TABLES" if self.kind == "mariadb" else "COMMIT"))

    async def waiting(self) -> int:
        """How many of the application's statements wait for the lock."""
        if self.kind == "mariadb":
            query = (
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
                " WHERE db = :database AND state LIKE '%metadata lock%'"
            )
        else:
            await self._fresh_activity()
            query = (
                "SELECT COUNT(*) FROM pg_stat_activity"
                " WHERE datname = :database AND wait_event_type = 'Lock'"
            )
        count = await self.connection.scalar(text(query), {"database": self.database})
        return int(count or 0)

    async def connections(self) -> list[int]:
        """The ids of the application's connections to the database (never the DBA's own)."""
        if self.kind == "mariadb":
            query = (
                "SELECT id FROM information_schema.PROCESSLIST"
                " WHERE db = :database AND id <> CONNECTION_ID()"
            )
        else:
            await self._fresh_activity()
            query = (
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = :database AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend'"
            )
        rows = await self.connection.execute(text(query), {"database": self.database})
        return [int(row[0]) for row in rows]

    async def _fresh_activity(self) -> None:
        """pg_stat_activity is read once per transaction, and the lock keeps ours open."""
        await self.connection.execute(text("SELECT pg_stat_clear_snapshot()"))

    async def kill(self, connection_id: int) -> None:
        """End the connection from the server side, unless it ended by itself meanwhile."""
        if self.kind == "postgresql":  # false, not an error, for a pid already gone
            await self.connection.execute(text(f"SELECT pg_terminate_backend({connection_id})"))
            return
        try:
            await self.connection.execute(text(f"KILL CONNECTION {connection_id}"))
        except DBAPIError as error:
            if "1094" not in str(error.orig):  # Unknown thread id: already gone
                raise


@asynccontextmanager
async def database_admin(kind: str, database: str) -> AsyncIterator[DatabaseAdmin]:
    """A DBA connection to the server `kind`; on PostgreSQL it is on `database` itself
    (its locks and its catalog are per database), in autocommit."""
    if kind == "mariadb":
        # No default schema, so PROCESSLIST's `db` never matches the DBA's own connection.
        server = create_async_engine(f"{MARIADB_SERVER_URL}/", poolclass=NullPool)
    else:
        server = create_async_engine(
            f"{POSTGRESQL_SERVER_URL}/{database}", poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )
    try:
        async with server.connect() as connection:
            yield DatabaseAdmin(kind, database, connection)
    finally:
        await server.dispose()
