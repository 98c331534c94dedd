"""Restoring a backup: all of it in one transaction, or nothing.

A restore refuses, changing nothing, when the file is not a complete Dvorik
backup, when it is of another schema revision than this Dvorik and the
target database (`dvorik migrate` an empty database first), and when the
target already holds a shop, unless `wipe` says to replace it. A database
fresh from `dvorik migrate` counts as empty: it holds only the default
templates, which the backup's templates replace.

Everything happens in one transaction: the wipe, then the rows of every
table in dependency order, inserted in batches. A file found damaged half-way
(a row that does not parse, a count that does not add up, gzip's check at
the end) or a row the database refuses rolls the whole transaction back: the
database is as it was before, never half restored. On MariaDB that
transaction's undo log grows with the shop (a few hundred MB for millions of
rows is fine for InnoDB); for far bigger databases use the native tools
(docs/operations.md).

Rows keep their ids, so references (a delivery's customer, a code's
broadcast) hold; SQLite and MariaDB continue their auto-increment counters
after the highest id inserted by themselves, PostgreSQL's sequences are set
past it after the load (`continue_ids`), in the same transaction.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.backups.format import BackupError, Decoder, Header, Reader, decoder
from backend.backups.progress import Progress
from backend.backups.schema import TABLES, current_revision, head_revision
from backend.domain.database import create_engine
from backend.domain.dialects import continue_ids

BATCH = 1000  # rows per INSERT
# What `dvorik migrate` writes into an empty database: not a shop yet.
FILLED_BY_MIGRATE = frozenset({"templates"})


@contextmanager
def backup_reader(name: str) -> Iterator[Reader]:
    """The backup in file `name` ("-": standard input), its header read and checked."""
    if name == "-":
        if sys.stdin.isatty():
            raise BackupError("standard input is a terminal: pipe a backup into it")
        yield Reader(sys.stdin.buffer)
        return
    try:
        stream = Path(name).open("rb")  # noqa: SIM115 (closed below; its error is one line)
    except OSError as error:
        raise BackupError(f"cannot read {name}: {error.strerror}") from None
    with stream:
        yield Reader(stream)


async def restore_backup(
    database_url: str, reader: Reader, *, wipe: bool, progress: Progress
) -> Header:
    """Load the backup `reader` reads into the database at `database_url`; returns its header."""
    header = reader.header
    _check_file(header)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await _check_target(connection, header, wipe=wipe)
            for table in reversed(TABLES):
                await connection.execute(delete(table))
            progress.start("restore", header.rows)
            await _load(connection, reader, progress)
            await continue_ids(connection, TABLES)
    finally:
        await engine.dispose()
    return header


def _check_file(header: Header) -> None:
    head = head_revision()
    if header.revision != head:
        raise BackupError(
            f"the backup is of schema revision {header.revision}, this Dvorik is at {head}: "
            "restore it with the Dvorik version that took it, then `dvorik migrate`"
        )
    expected = [(t.name, [c.name for c in t.columns]) for t in TABLES]
    if [(t.name, t.columns) for t in header.tables] != expected:
        raise BackupError("the backup's tables do not match this Dvorik's schema")


async def _check_target(connection: AsyncConnection, header: Header, *, wipe: bool) -> None:
    revision = await current_revision(connection)
    if revision is None:
        raise BackupError("the database has no schema yet: run `dvorik migrate` first")
    if revision != header.revision:
        raise BackupError(
            f"the database is at schema revision {revision}, the backup at {header.revision}: "
            "restore into a database at the backup's revision"
        )
    if wipe:
        return
    occupied = []
    for table in TABLES:
        if table.name in FILLED_BY_MIGRATE:
            continue
        count = int(await connection.scalar(select(func.count()).select_from(table)) or 0)
        if count:
            occupied.append(f"{count} {table.name}")
    if occupied:
        raise BackupError(
            f"the database is not empty ({', '.join(occupied[:3])}"
            f"{', …' if len(occupied) > 3 else ''}): pass --wipe to replace everything in it"
        )


class _TableLoader:
    """Turns a table's rows from the file into batches of inserts."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.names = [column.name for column in table.columns]
        self.decoders: list[Decoder] = [decoder(column) for column in table.columns]
        self.pending: list[dict[str, Any]] = []

    def add(self, values: list[Any], line: int) -> None:
        try:
            row = {
                name: decode(value)
                for name, decode, value in zip(self.names, self.decoders, values, strict=True)
            }
        except (TypeError, ValueError) as error:
            damaged = f"line {line}: a value of {self.table.name} is damaged ({error})"
            raise BackupError(damaged) from None
        self.pending.append(row)

    async def flush(self, connection: AsyncConnection) -> int:
        rows, self.pending = self.pending, []
        if not rows:
            return 0
        try:
            await connection.execute(insert(self.table), rows)
        except IntegrityError as error:
            raise BackupError(
                f"the database refused rows of {self.table.name}: {error.orig}"
            ) from None
        return len(rows)


async def _load(connection: AsyncConnection, reader: Reader, progress: Progress) -> None:
    loaders = {table.name: _TableLoader(table) for table in TABLES}
    current: _TableLoader | None = None
    for name, values in reader.rows():
        loader = loaders[name]
        if loader is not current and current is not None:
            progress.advance(await current.flush(connection))
        current = loader
        loader.add(values, reader.line)
        if len(loader.pending) >= BATCH:
            progress.advance(await loader.flush(connection))
    if current is not None:
        progress.advance(await current.flush(connection))
