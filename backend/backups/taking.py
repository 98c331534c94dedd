"""Taking a backup while the shop runs: every table read from one snapshot of the database.

The rows of all tables must be of one moment, or a restore could hold a
delivery marked sent without the discount its message carried, or a
discount of a customer the backup missed. So everything is read in one
transaction that sees one snapshot:

* MariaDB/MySQL: REPEATABLE READ for this connection only (the application
  keeps READ COMMITTED). InnoDB fixes the snapshot at the transaction's first
  read, the revision check, and every later SELECT sees that moment while
  the shop goes on writing (the semantics of `mysqldump --single-transaction`;
  no lock is taken).
* PostgreSQL: REPEATABLE READ, READ ONLY for this connection only; the
  snapshot is taken at the first statement, as `pg_dump` does it (no lock
  that writers wait for).
* SQLite: one read transaction (BEGIN DEFERRED, `query_only`); in WAL mode it
  sees the database as of its first read while writers go on.

Each table is streamed (a server-side cursor on MariaDB and PostgreSQL) in primary-key order,
in batches, so memory stays bounded by a batch. The row counts in the header
are read in the same snapshot first; a table whose streamed rows do not match
its count means the snapshot was not consistent, and the backup is refused
rather than written.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.backups.format import BackupError, Header, TableHeader, Writer
from backend.backups.progress import Progress
from backend.backups.schema import TABLES, current_revision, head_revision
from backend.domain.database import create_engine

BATCH = 1000  # rows per fetch from the database


async def take_backup(database_url: str, out: IO[bytes], progress: Progress) -> Header:
    """Write a backup of the database at `database_url` into `out`; returns its header."""
    engine = create_engine(database_url, read_only=True)
    try:
        async with _snapshot(engine) as connection:
            header = await _header(connection)
            writer = Writer(out)
            writer.header(header)
            progress.start("backup", header.rows)
            for table in header.tables:
                await _copy_table(connection, writer, table, progress)
            writer.finish()
    finally:
        await engine.dispose()
    return header


@asynccontextmanager
async def _snapshot(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in one read transaction that sees one moment of the database."""
    async with engine.connect() as connection:
        if connection.dialect.name == "mysql":
            await connection.execution_options(isolation_level="REPEATABLE READ")
        if connection.dialect.name == "postgresql":
            await connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        async with connection.begin():
            yield connection


async def _header(connection: AsyncConnection) -> Header:
    revision = await current_revision(connection)  # the first read: the snapshot's moment
    head = head_revision()
    if revision != head:
        raise BackupError(
            f"the database is at schema revision {revision or '(none)'}, this Dvorik at {head}: "
            "run `dvorik migrate` first, or back up with the Dvorik version the database is at"
        )
    tables = []
    for table in TABLES:
        count = await connection.scalar(select(func.count()).select_from(table))
        tables.append(TableHeader(table.name, [c.name for c in table.columns], int(count or 0)))
    return Header(
        revision=head,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        source=connection.dialect.name,
        tables=tables,
    )


async def _copy_table(
    connection: AsyncConnection, writer: Writer, header: TableHeader, progress: Progress
) -> None:
    table = next(t for t in TABLES if t.name == header.name)
    query = select(*table.columns).order_by(*table.primary_key.columns)
    copied = 0
    result = await connection.stream(query.execution_options(yield_per=BATCH))
    async for batch in result.partitions(BATCH):
        writer.rows_of(table.name, batch)
        copied += len(batch)
        progress.advance(len(batch))
    if copied != header.rows:
        raise BackupError(
            f"{table.name} changed during the backup ({header.rows} rows counted, {copied} read): "
            "the database gave no consistent snapshot"
        )


@contextmanager
def backup_file(name: str) -> Iterator[IO[bytes]]:
    """Where a backup goes: standard output for "-", else a new file readable by its owner only.

    A file's rows go to `<name>.partial` first, renamed into place at the end,
    so a backup that failed half-way never looks like a backup.
    """
    if name == "-":
        if sys.stdout.isatty():
            raise BackupError("standard output is a terminal: redirect it into a file or a pipe")
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    path = Path(name)
    if path.exists():
        raise BackupError(f"{path} already exists: choose a new name")
    partial = path.with_name(path.name + ".partial")
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as error:
        raise BackupError(f"cannot write {partial}: {error.strerror}") from None
    try:
        with os.fdopen(descriptor, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
