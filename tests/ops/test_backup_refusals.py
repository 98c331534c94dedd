"""What `dvorik backup` and `dvorik restore` refuse, in one line, changing nothing.

A restore never mixes two shops, never half-restores a damaged file, and
never loads a backup into a schema it was not taken from; a backup never
writes rows of two different moments.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import threading
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.backups import Reader, take_backup
from backend.backups.format import decoder
from backend.backups.progress import Silent
from backend.backups.schema import head_revision
from backend.demo_data import add_subscribers
from backend.domain.database import create_engine, create_sessionmaker
from backend.domain.models import Base, Customer, Template
from backend.migrations import alembic_config
from tests.backups import Engines, ShopDatabase, engines, read_lines, shop, write_lines
from tests.databases import run_alembic
from tests.factories import make_customer, make_discount

__all__ = ["engines", "shop"]  # fixtures

Sessions = async_sessionmaker[AsyncSession]
REFUSED = "Error: restore refused, the database is unchanged: "


async def add_customers(sessions: Sessions, count: int) -> None:
    async with sessions() as session, session.begin():
        for _ in range(count):
            await make_discount(session, await make_customer(session))


async def customers_and_templates(sessions: Sessions) -> tuple[int, int]:
    async with sessions() as session:
        customers = await session.scalar(select(func.count(Customer.id)))
        templates = await session.scalar(select(func.count(Template.id)))
    return int(customers or 0), int(templates or 0)


def back_up(shop: ShopDatabase, path: Path) -> Path:
    taken = shop.dvorik("backup", str(path))
    assert taken.returncode == 0, taken.stderr
    return path


def assert_refused(shop: ShopDatabase, path: Path, reason: str, *options: str) -> None:
    """`dvorik restore` exits 1 with one line: the reason."""
    result = shop.dvorik("restore", *options, str(path))
    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith(REFUSED + reason), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr  # one line, no traceback


async def test_restore_into_a_shop_refuses_unless_told_to_wipe_it(
    shop: ShopDatabase, engines: Engines, tmp_path: Path
) -> None:
    sessions = engines.sessions(shop)
    await add_customers(sessions, 3)
    backup = back_up(shop, tmp_path / "three.gz")
    await add_customers(sessions, 2)  # after the backup: the shop is not empty

    assert_refused(shop, backup, "the database is not empty (5 customers, 5 discounts)")
    assert (await customers_and_templates(sessions))[0] == 5

    wiped = shop.dvorik("restore", "--wipe", str(backup))
    assert wiped.returncode == 0, wiped.stderr
    assert (await customers_and_templates(sessions))[0] == 3


async def test_a_file_damaged_half_way_restores_nothing(
    shop: ShopDatabase, engines: Engines, tmp_path: Path
) -> None:
    """Rows before the damage were inserted already: the one transaction takes them back."""
    sessions = engines.sessions(shop)
    await add_subscribers(sessions, 1200)  # more than a batch: inserts ran before the damage
    await add_customers(sessions, 3)
    lines = read_lines(back_up(shop, tmp_path / "shop.gz"))
    await engines.close()
    await shop.wipe()
    await shop.migrate()
    sessions = engines.sessions(shop)
    fresh = await customers_and_templates(sessions)
    assert fresh[0] == 0

    write_lines(tmp_path / "no-end.gz", lines[:-1])
    assert_refused(shop, tmp_path / "no-end.gz", "the file ends before its end line")
    damaged = [dict(line) for line in lines]
    last_discount = max(i for i, line in enumerate(lines) if line.get("t") == "discounts")
    damaged[last_discount] = {"t": "discounts", "r": list(lines[last_discount]["r"])}
    damaged[last_discount]["r"][1] = 987_654  # a customer the backup does not have
    write_lines(tmp_path / "orphan.gz", damaged)
    assert_refused(shop, tmp_path / "orphan.gz", "the database refused rows of discounts")
    whole = (tmp_path / "shop.gz").read_bytes()
    (tmp_path / "cut.gz").write_bytes(whole[: len(whole) * 3 // 4])
    assert_refused(shop, tmp_path / "cut.gz", "not a complete gzip file")

    assert await customers_and_templates(sessions) == fresh


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"id,name\n1,Anna\n", "not a complete gzip file"),
        (gzip.compress(b"SELECT 1;\n"), "line 1 is not JSON: not a Dvorik backup"),
        (gzip.compress(b'{"tables": []}\n'), "not a Dvorik backup (no dvorik-backup header)"),
        (
            gzip.compress(b'{"format": "dvorik-backup", "version": 99}\n'),
            "backup format version 99 is not one this Dvorik reads",
        ),
    ],
    ids=["csv", "sql", "foreign json", "newer format"],
)
def test_restore_refuses_a_foreign_file(tmp_path: Path, content: bytes, reason: str) -> None:
    """Refused on reading the header, before the database is even opened."""
    database = tmp_path / "untouched.db"
    (tmp_path / "file").write_bytes(content)
    untouched = ShopDatabase("sqlite", f"sqlite+aiosqlite:///{database}", database)
    assert_refused(untouched, tmp_path / "file", reason)
    assert not database.exists()


async def test_backup_and_restore_refuse_other_schema_revisions(
    shop: ShopDatabase, engines: Engines, tmp_path: Path
) -> None:
    head = head_revision()
    previous = ScriptDirectory.from_config(alembic_config("")).get_revision(head).down_revision
    assert isinstance(previous, str)
    sessions = engines.sessions(shop)
    await add_customers(sessions, 2)
    backup = back_up(shop, tmp_path / "shop.gz")

    older = read_lines(backup)
    older[0]["revision"] = previous
    write_lines(tmp_path / "older.gz", older)
    assert_refused(
        shop,
        tmp_path / "older.gz",
        f"the backup is of schema revision {previous}, this Dvorik is at {head}",
        "--wipe",
    )

    await engines.close()
    await shop.wipe()
    assert_refused(shop, backup, "the database has no schema yet: run `dvorik migrate` first")
    engine = create_engine(shop.url)
    await run_alembic(engine, "upgrade", previous)
    await engine.dispose()
    assert_refused(
        shop, backup, f"the database is at schema revision {previous}, the backup at {head}"
    )
    taken = shop.dvorik("backup", str(tmp_path / "of-older.gz"))
    assert taken.returncode == 1
    assert taken.stderr.startswith(
        f"Error: backup refused: the database is at schema revision {previous}, "
        f"this Dvorik at {head}: run `dvorik migrate` first"
    )
    assert not (tmp_path / "of-older.gz").exists()
    assert not (tmp_path / "of-older.gz.partial").exists()


class WriteWhenCounted(Silent):
    """Progress that lets the shop write between the backup's counts and its rows.

    `start` is called once every table has been counted, just before the rows
    are read; the write commits in a thread with its own event loop, as
    another process would, while the backup's transaction stays open.
    """

    def __init__(self, url: str) -> None:
        self.url = url

    def start(self, stage: str, total: int) -> None:
        async def write() -> None:
            engine = create_engine(self.url)
            try:
                await add_customers(create_sessionmaker(engine), 1)
            finally:
                await engine.dispose()

        writer = threading.Thread(target=asyncio.run, args=(write(),))
        writer.start()
        writer.join(timeout=60)


async def test_a_backup_is_one_moment_while_the_shop_writes(
    shop: ShopDatabase, engines: Engines
) -> None:
    sessions = engines.sessions(shop)
    await add_customers(sessions, 3)
    out = io.BytesIO()
    header = await take_backup(shop.url, out, WriteWhenCounted(shop.url))

    assert (await customers_and_templates(sessions))[0] == 4  # the write committed meanwhile
    counts = {table.name: table.rows for table in header.tables}
    assert (counts["customers"], counts["discounts"]) == (3, 3)
    rows = list(Reader(io.BytesIO(out.getvalue())).rows())
    assert sum(1 for table, _ in rows if table == "customers") == 3


def test_every_column_of_the_models_has_a_backup_encoding() -> None:
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            decoder(column)  # raises TypeError for a type the file cannot carry
