"""MySQL/MariaDB bulk-load speed-ups for `generate_volume`: indexes built after, checks off.

On SQLite both context managers do nothing.
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
    if dialect not in ("mysql", "mariadb"):
        yield
        return
    plans = {name: _deferrable(table_named(name)) for name in _DEFERRED_TABLES}
    async with sessions() as session:
        for name, indexes in plans.items():
            drops = ", ".join(f"DROP INDEX `{index}`" for index, _, _ in indexes)
            await session.execute(text(f"ALTER TABLE `{name}` {drops}"))
    try:
        yield
    finally:
        if progress is not None:
            progress.start("indexes", sum(len(indexes) for indexes in plans.values()))
        async with sessions() as session:
            for name, indexes in plans.items():
                adds = ", ".join(
                    f"ADD {'UNIQUE ' if unique else ''}INDEX `{index}` "
                    f"({', '.join(f'`{column}`' for column in columns)})"
                    for index, columns, unique in indexes
                )
                await session.execute(text(f"ALTER TABLE `{name}` {adds}"))
                if progress is not None:
                    progress.advance(len(indexes))
            # Statistics taken while the tables filled mislead the optimizer
            # (a tag with 90,000 members estimated at 1): take them afresh.
            loaded = ", ".join(f"`{name}`" for name in (*_DEFERRED_TABLES, *_ANALYZED_TABLES))
            await session.execute(text(f"ANALYZE TABLE {loaded}"))


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
