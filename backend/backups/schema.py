"""Which tables a backup holds, and at which schema revision a database stands.

A backup is of the tables this Dvorik's models define, read and written
through their column types; so both ends must be at the revision those
models are (Alembic's head): an older backup restores with the Dvorik
version that took it, and `dvorik migrate` brings it forward afterwards.
`alembic_version` itself is not backed up: `dvorik migrate` writes it.
"""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import Table, inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.domain.models import Base
from backend.migrations import alembic_config

# Dependency order: a row's foreign keys point at tables earlier in the list.
TABLES: list[Table] = list(Base.metadata.sorted_tables)


def head_revision() -> str:
    """The revision this code's models are at."""
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    if head is None:
        raise RuntimeError("no Alembic head: migrations/ is missing")
    return head


async def current_revision(connection: AsyncConnection) -> str | None:
    """The revision `dvorik migrate` left the database at; None for a database never migrated."""
    migrated = await connection.run_sync(lambda sync: inspect(sync).has_table("alembic_version"))
    if not migrated:
        return None
    revision = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    return None if revision is None else str(revision)
