"""What the demo data tests read back and watch: a model's rows, counts per table, progress.

Shared by tests/ops/test_demo_data_*.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend import demo_data
from backend.domain.models import Base

NOW = demo_data.DEFAULT_NOW


async def load_all(sessions: async_sessionmaker[AsyncSession], model: type[Any]) -> list[Any]:
    async with sessions() as session:
        return list(await session.scalars(select(model).order_by(model.id)))


async def row_counts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        counts = {}
        for table in Base.metadata.sorted_tables:
            counts[table.name] = await session.scalar(select(func.count()).select_from(table)) or 0
        return counts


async def empty_database(engine: AsyncEngine) -> None:
    """Every row gone, for a second run of the generator within one test."""
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(delete(table))


@dataclass
class RecordingProgress:
    """A progress reporter that checks what a run reports: each stage starts once, and
    never advances past the total it announced."""

    stages: list[tuple[str, int]] = field(default_factory=list)
    advanced: dict[str, int] = field(default_factory=dict)

    def start(self, stage: str, total: int) -> None:
        assert stage not in self.advanced, f"stage {stage} started twice"
        self.stages.append((stage, total))
        self.advanced[stage] = 0

    def advance(self, amount: int) -> None:
        assert self.stages, "advance before any stage started"
        stage, total = self.stages[-1]
        assert amount > 0
        self.advanced[stage] += amount
        assert self.advanced[stage] <= total
