"""Writing planned rows: Core bulk inserts in batches, reported stage by stage to a `Progress`."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.demo_data.existing import table_named
from backend.domain.dialects import continue_ids

BATCH_SIZE = 1000


class Progress(Protocol):
    """Where `generate` reports its stages: `start` once per stage, then `advance`s."""

    def start(self, stage: str, total: int) -> None: ...

    def advance(self, amount: int) -> None: ...


async def write(
    session: AsyncSession,
    stage: str,
    parts: list[tuple[str, list[dict[str, Any]]]],
    progress: Progress | None,
) -> None:
    if progress is not None:
        progress.start(stage, sum(len(rows) for _, rows in parts))
    for table_name, rows in parts:
        table = table_named(table_name)
        for start in range(0, len(rows), BATCH_SIZE):
            batch = rows[start : start + BATCH_SIZE]
            await session.execute(insert(table), batch)
            if progress is not None:
                progress.advance(len(batch))
    # The planner gives every row its id: new rows' ids must continue past them.
    await continue_ids(session, [table_named(table_name) for table_name, _ in parts])
