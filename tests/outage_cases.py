"""What the outage classification tests share: a silent port, a one-row table, one statement."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


@asynccontextmanager
async def silent_port() -> AsyncIterator[int]:
    """A port that accepts connections and never says a word (a hung server)."""

    async def say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up
        writer.close()

    silent = await asyncio.start_server(say_nothing, "127.0.0.1", 0)
    try:
        yield silent.sockets[0].getsockname()[1]
    finally:
        silent.close()


async def one_row_table(engine: AsyncEngine) -> None:
    """Table `t` with the row (1, 1), for the lock and conflict cases."""
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INT PRIMARY KEY, v INT)"))
        await connection.execute(text("INSERT INTO t VALUES (1, 1)"))


async def statement(engine: AsyncEngine, sql: str) -> None:
    """Run `sql` on a new connection of `engine`, disposed of afterwards."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text(sql))
    finally:
        await engine.dispose()
