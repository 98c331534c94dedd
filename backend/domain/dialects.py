"""SQL that differs between SQLite, MySQL/MariaDB and PostgreSQL, written once for all three.

Service code builds statements with these instead of branching on the
dialect itself, so a database added later is a change here, not a hunt
through the services.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Insert, Integer, String, Table, insert, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


def insert_ignoring_duplicates(table: Table | type[DeclarativeBase], dialect: str) -> Insert:
    """An INSERT into `table` that skips, without an error, a row whose unique key exists.

    Its rowcount says whether the row went in (1) or was already there (0):
    INSERT IGNORE on MySQL/MariaDB, INSERT OR IGNORE on SQLite, and
    ON CONFLICT DO NOTHING on PostgreSQL (which has no such prefix).
    """
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return insert(table).prefix_with("OR IGNORE" if dialect == "sqlite" else "IGNORE")


async def continue_ids(connection: AsyncConnection | AsyncSession, tables: Iterable[Table]) -> None:
    """After rows went in with explicit ids, make new rows' ids continue past the highest.

    SQLite and MySQL/MariaDB move their auto-increment counter along with any
    id inserted; a PostgreSQL sequence knows nothing of ids it did not hand
    out, and its next INSERT would collide with a restored or generated row.
    """
    bind = connection.get_bind() if isinstance(connection, AsyncSession) else connection
    if bind.dialect.name != "postgresql":
        return
    for table in tables:
        key = list(table.primary_key.columns)
        if len(key) != 1 or not isinstance(key[0].type, Integer) or not key[0].autoincrement:
            continue
        name, column = table.name, key[0].name
        # Names come from our own metadata, never from input.
        await connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', '{column}'), "  # noqa: S608
                f'COALESCE((SELECT MAX("{column}") FROM "{name}"), 0) + 1, false)'
            )
        )


# --- Comparing text the same way on every database -------------------------------------------


def fold(text: str) -> str:
    """`text` as compared: lower case, ё as е (see `folded`)."""
    return text.lower().replace("ё", "е")


class folded(FunctionElement[str]):  # lower case: it reads as the SQL function it is
    """A text column folded for comparison: lower case, ё as е, on every database.

    Names are compared (searched, kept unique) as people read them: «Ёлкина»,
    «ЁЛКИНА» and «елкина» are one name. MariaDB's utf8mb4_unicode_ci collation
    does that by itself (case-insensitive, ё = е at primary strength), so there
    the column stays bare and keeps its index; PostgreSQL (case-sensitive
    collation) and SQLite (lower() made Unicode-aware by `create_engine`) fold
    with replace(lower(...)). Compare it with a value folded by `fold`.
    """

    type = String()
    name = "folded"
    inherit_cache = True


@compiles(folded)
def _folded_with_lower(element: folded, compiler: SQLCompiler, **kw: Any) -> str:
    return f"replace(lower({compiler.process(element.clauses, **kw)}), 'ё', 'е')"


@compiles(folded, "mysql")
@compiles(folded, "mariadb")
def _folded_by_collation(element: folded, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)
