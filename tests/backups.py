"""A database of the shop's own for backup tests: its URL, `dvorik` on it, wiping it, reading it.

Backup tests wipe their database and restore into it, so they do not share
the suite's `engine`: each test gets a fresh one (SQLite file, MariaDB
schema or PostgreSQL database), migrated, and drops it afterwards.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain import templates
from backend.domain.database import create_engine, create_sessionmaker
from backend.domain.models import Base
from tests.conftest import DATABASES
from tests.databases import create_server_database, drop_server_database, run_alembic
from tests.processes import DVORIK, ROOT, dvorik, environment


@dataclass
class ShopDatabase:
    kind: str  # "sqlite", "mariadb" or "postgresql"
    url: str
    sqlite_file: Path | None

    def env(self) -> dict[str, str]:
        return environment(DATABASE_URL=self.url)

    def dvorik(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`dvorik ARGS` as an operator runs it, on this database."""
        return dvorik(*args, env=self.env())

    def dvorik_piped(self, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
        """`dvorik ARGS` with binary standard input and output (a backup through a pipe)."""
        return subprocess.run(
            [*DVORIK, *args],
            input=stdin,
            env=self.env(),
            cwd=ROOT,
            capture_output=True,
            timeout=120,
            check=False,
        )

    async def migrate(self) -> None:
        """What `dvorik migrate` does, in this process (faster than a process)."""
        engine = create_engine(self.url)
        try:
            await run_alembic(engine, "upgrade", "head")
            async with create_sessionmaker(engine)() as session, session.begin():
                await templates.ensure_defaults(session)
        finally:
            await engine.dispose()

    async def wipe(self) -> None:
        """Gone: the SQLite file deleted, the server's database dropped and created empty."""
        if self.sqlite_file is None:
            await create_server_database(self.kind, self.name)
            return
        _delete_sqlite_files(self.sqlite_file)

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


def _delete_sqlite_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def open_shop_database(kind: str, tmp_path: Path, name: str) -> ShopDatabase:
    if kind == "sqlite":
        file = tmp_path / f"{name}.db"
        return ShopDatabase(kind, f"sqlite+aiosqlite:///{file}", file)
    url = await create_server_database(kind, f"{name}_{os.getpid()}")
    return ShopDatabase(kind, url, None)


@pytest.fixture(params=DATABASES)
async def shop(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ShopDatabase]:
    """A fresh database as `dvorik migrate` leaves it, dropped after the test."""
    database = await open_shop_database(request.param, tmp_path, "dvorik_backup")
    await database.migrate()
    yield database
    if database.sqlite_file is None:
        await drop_server_database(database.kind, database.name)


class Engines:
    """Engines opened on a test's databases, all disposed by `close` (before a wipe, too)."""

    def __init__(self) -> None:
        self.opened: list[AsyncEngine] = []

    def sessions(self, database: ShopDatabase) -> async_sessionmaker[AsyncSession]:
        engine = create_engine(database.url)
        self.opened.append(engine)
        return create_sessionmaker(engine)

    async def close(self) -> None:
        for engine in self.opened:
            await engine.dispose()
        self.opened.clear()


@pytest.fixture
async def engines() -> AsyncIterator[Engines]:
    opened = Engines()
    yield opened
    await opened.close()


async def everything(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[Any]]:
    """Every row of every table, as the application reads them, in primary-key order."""
    found: dict[str, list[Any]] = {}
    async with sessions() as session:
        for table in Base.metadata.sorted_tables:
            query = select(*table.columns).order_by(*table.primary_key.columns)
            found[table.name] = [tuple(row) for row in await session.execute(query)]
    return found


def read_lines(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def write_lines(path: Path, lines: list[dict[str, Any]]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as out:
        for line in lines:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
