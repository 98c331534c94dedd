"""The database server a bench run seeds: MariaDB (a schema) or PostgreSQL (a database).

The bench keeps its data in a database of its own (`bench_dvorik_<N>`), dropped
and recreated for a fresh seeding and marked with the size it was seeded for,
so `--reuse` can keep it. The two servers do each step their own way: on
MariaDB a schema whose `customers` table carries the mark as its comment, on
PostgreSQL a database carrying it as the database's comment (readable from the
maintenance database, so no connection to a database that may not exist).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

SEED_MARKER = "bench_seeded_customers"
_NAME = re.compile(r"[a-z0-9_]{1,63}")


def _mark(customers: int) -> str:
    return f"{SEED_MARKER}={customers}"


def _marked_size(comment: object) -> int | None:
    if not isinstance(comment, str) or not comment.startswith(SEED_MARKER + "="):
        return None
    return int(comment.split("=", 1)[1])


def check_name(name: str) -> str:
    """A database name the bench may create and drop: lower-case letters, digits, `_`.

    The name is spliced into DDL (no server takes it as a parameter), and
    PostgreSQL folds unquoted names to lower case: one rule serves both servers.
    """
    if not _NAME.fullmatch(name):
        raise ValueError(f"database name {name!r}: use 1-63 of a-z, 0-9 and _")
    return name


class DatabaseServer(Protocol):
    """What the bench does to a server: make, mark, find and drop its own databases."""

    title: str
    server_url: str

    def database_url(self, name: str) -> str: ...

    async def recreate(self, name: str) -> None: ...

    async def seeded_size(self, name: str) -> int | None: ...

    async def mark_seeded(self, name: str, customers: int) -> None: ...

    async def settle(self, name: str) -> None: ...

    async def drop(self, name: str) -> None: ...


class _Server:
    """Statements run one by one on the server's maintenance database."""

    title = ""
    maintenance = ""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url.rstrip("/")

    def database_url(self, name: str) -> str:
        return f"{self.server_url}/{check_name(name)}"

    async def settle(self, name: str) -> None:
        """Bring a freshly seeded database where a running shop's gets by itself (PostgreSQL)."""

    async def _execute(
        self, *statements: str, database: str | None = None, **parameters: Any
    ) -> list[Sequence[Any] | None]:
        # Autocommit: PostgreSQL refuses CREATE/DROP DATABASE and VACUUM inside a transaction.
        server = create_async_engine(
            f"{self.server_url}/{database or self.maintenance}",
            isolation_level="AUTOCOMMIT",
            poolclass=NullPool,
        )
        results: list[Sequence[Any] | None] = []
        try:
            async with server.connect() as connection:
                for statement in statements:
                    result = await connection.execute(text(statement), parameters)
                    results.append(result.all() if result.returns_rows else None)
        finally:
            await server.dispose()
        return results


class MariaDB(_Server):
    title = "MariaDB"
    maintenance = "mysql"

    async def recreate(self, name: str) -> None:
        await self.drop(name)
        await self._execute(
            f"CREATE DATABASE `{check_name(name)}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )

    async def seeded_size(self, name: str) -> int | None:
        (rows,) = await self._execute(
            "SELECT table_comment FROM information_schema.tables "
            "WHERE table_schema = :name AND table_name = 'customers'",
            name=name,
        )
        return _marked_size(rows[0][0]) if rows else None

    async def mark_seeded(self, name: str, customers: int) -> None:
        await self._execute(
            f"ALTER TABLE `{check_name(name)}`.customers COMMENT '{_mark(customers)}'"
        )

    async def drop(self, name: str) -> None:
        # sql_notes off: the driver would log the note that there was nothing to drop.
        await self._execute(
            "SET SESSION sql_notes = 0", f"DROP DATABASE IF EXISTS `{check_name(name)}`"
        )


class PostgreSQL(_Server):
    title = "PostgreSQL"
    maintenance = "postgres"

    async def recreate(self, name: str) -> None:
        await self.drop(name)
        await self._execute(f"CREATE DATABASE \"{check_name(name)}\" ENCODING 'UTF8'")

    async def seeded_size(self, name: str) -> int | None:
        (rows,) = await self._execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :name",
            name=name,
        )
        return _marked_size(rows[0][0]) if rows else None

    async def mark_seeded(self, name: str, customers: int) -> None:
        await self._execute(f"COMMENT ON DATABASE \"{check_name(name)}\" IS '{_mark(customers)}'")

    async def settle(self, name: str) -> None:
        """VACUUM (ANALYZE) the whole database once seeding is done.

        The load leaves no page of the new tables marked all-visible, so an
        index-only scan would still read the table for every row: the planner
        picks a sequential scan instead (totalCount read all of `customers`:
        7.4 ms instead of 1.6 ms at 50,000). Autovacuum gets there by itself a
        while after a load, as it has in any shop that has been running; the
        bench does not wait for it. MariaDB needs no such step (InnoDB's
        secondary indexes need no visibility map) and its ANALYZE is the load's.
        """
        await self._execute("VACUUM (ANALYZE)", database=check_name(name))

    async def drop(self, name: str) -> None:
        # FORCE: a bench killed part-way leaves its processes' connections behind.
        await self._execute(f'DROP DATABASE IF EXISTS "{check_name(name)}" WITH (FORCE)')


def server_at(server_url: str) -> DatabaseServer:
    """The server `server_url` names, by its dialect (mysql → MariaDB, postgresql)."""
    backend = make_url(server_url).get_backend_name()
    if backend == "postgresql":
        return PostgreSQL(server_url)
    if backend in ("mysql", "mariadb"):
        return MariaDB(server_url)
    raise ValueError(f"{server_url}: the bench runs on MariaDB or PostgreSQL only")
