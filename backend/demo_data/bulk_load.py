"""Bulk-load speed-ups for `generate_volume`: indexes built after, checks off.

MySQL/MariaDB get both; PostgreSQL gets the indexes built after (its foreign
key checks are triggers that only a superuser may switch off); on SQLite both
context managers do nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Table, UniqueConstraint, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.demo_data.existing import table_named
from backend.demo_data.writing import Progress

_DEFERRED_TABLES = ("customers", "discounts")
_ANALYZED_TABLES = ("customer_tags", "broadcast_deliveries", "tags")


def _deferrable(table: Table) -> list[tuple[str, list[str], bool]]:
    """(name, columns, unique) of the table's indexes that no foreign key needs.

    Keeping an index per row inserted is what makes a big load slow once the
    indexes outgrow the buffer pool (codes, for one, land at random places);
    built once at the end, by sorting, they cost seconds. Indexes that lead
    with a foreign key column stay: the database needs them for the key.
    """
    foreign = {element.parent.name for element in table.foreign_keys}
    found: list[tuple[str, list[str], bool]] = []
    for index in table.indexes:
        names = [column.name for column in index.columns]
        found.append((str(index.name), names, bool(index.unique)))
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            found.append((str(constraint.name), [c.name for c in constraint.columns], True))
    return [entry for entry in found if entry[1][0] not in foreign]


@asynccontextmanager
async def indexes_deferred(
    sessions: async_sessionmaker[AsyncSession], progress: Progress | None
) -> AsyncIterator[None]:
    """Drop the big tables' deferrable indexes around the load; rebuild them whatever happens."""
    async with sessions() as session:
        dialect = session.get_bind().dialect.name
    if dialect not in ("mysql", "mariadb", "postgresql"):
        yield
        return
    statements = _MYSQL_INDEXES if dialect != "postgresql" else _POSTGRESQL_INDEXES
    plans = {name: _deferrable(table_named(name)) for name in _DEFERRED_TABLES}
    async with sessions() as session, session.begin():
        for name, indexes in plans.items():
            for statement in statements.drops(name, indexes):
                await session.execute(text(statement))
    try:
        yield
    finally:
        if progress is not None:
            progress.start("indexes", sum(len(indexes) for indexes in plans.values()))
        async with sessions() as session, session.begin():
            for name, indexes in plans.items():
                for statement in statements.adds(name, indexes):
                    await session.execute(text(statement))
                if progress is not None:
                    progress.advance(len(indexes))
            # Statistics taken while the tables filled mislead the optimizer
            # (a tag with 90,000 members estimated at 1): take them afresh.
            await session.execute(text(statements.analyze((*_DEFERRED_TABLES, *_ANALYZED_TABLES))))


_Index = tuple[str, list[str], bool]


class _MysqlIndexes:
    """One ALTER TABLE per table, dropping or adding all its indexes at once."""

    @staticmethod
    def drops(table: str, indexes: list[_Index]) -> list[str]:
        return [f"ALTER TABLE `{table}` " + ", ".join(f"DROP INDEX `{i}`" for i, _, _ in indexes)]

    @staticmethod
    def adds(table: str, indexes: list[_Index]) -> list[str]:
        adds = ", ".join(
            f"ADD {'UNIQUE ' if unique else ''}INDEX `{index}` "
            f"({', '.join(f'`{column}`' for column in columns)})"
            for index, columns, unique in indexes
        )
        return [f"ALTER TABLE `{table}` {adds}"]

    @staticmethod
    def analyze(tables: tuple[str, ...]) -> str:
        return "ANALYZE TABLE " + ", ".join(f"`{name}`" for name in tables)


class _PostgresqlIndexes:
    """Indexes are schema objects of their own; a unique index is a UNIQUE constraint's."""

    @staticmethod
    def drops(table: str, indexes: list[_Index]) -> list[str]:
        return [
            f'ALTER TABLE "{table}" DROP CONSTRAINT "{index}"'
            if unique
            else f'DROP INDEX "{index}"'
            for index, _, unique in indexes
        ]

    @staticmethod
    def adds(table: str, indexes: list[_Index]) -> list[str]:
        statements = []
        for index, columns, unique in indexes:
            names = ", ".join(f'"{column}"' for column in columns)
            statements.append(
                f'ALTER TABLE "{table}" ADD CONSTRAINT "{index}" UNIQUE ({names})'
                if unique
                else f'CREATE INDEX "{index}" ON "{table}" ({names})'
            )
        return statements

    @staticmethod
    def analyze(tables: tuple[str, ...]) -> str:
        return "ANALYZE " + ", ".join(f'"{name}"' for name in tables)


_MYSQL_INDEXES = _MysqlIndexes()
_POSTGRESQL_INDEXES = _PostgresqlIndexes()


@asynccontextmanager
async def bulk_session(session: AsyncSession) -> AsyncIterator[None]:
    """On MySQL/MariaDB, skip per-row FK and unique checks: the rows are right by construction.

    Session variables live on the connection, and the connection goes back to
    the pool: they are turned back on before it does (a test shares its engine).
    """
    bulk = session.get_bind().dialect.name in ("mysql", "mariadb")
    if bulk:
        await session.execute(text("SET SESSION foreign_key_checks = 0, unique_checks = 0"))
    try:
        yield
    finally:
        if bulk:
            await session.execute(text("SET SESSION foreign_key_checks = 1, unique_checks = 1"))
