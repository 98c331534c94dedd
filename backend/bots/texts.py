"""What the bots say: templates from the database, cached briefly per process.

Marketing edits texts in the SPA; a bot sees the edit within `TTL` seconds
without a database round trip on every button press.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import templates
from backend.domain.models import DiscountKind, Template

TTL = 30.0


class Texts:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], zone: ZoneInfo) -> None:
        self.sessions = sessions
        self.zone = zone
        self._cache: dict[str, str] = {}
        self._loaded_at = 0.0

    async def _texts(self) -> dict[str, str]:
        if time.monotonic() - self._loaded_at > TTL:
            async with self.sessions() as session:
                rows = await session.scalars(select(Template))
                stored = {row.key: row.text for row in rows}
            defaults = {key: item.text for key, item in templates.defaults().items()}
            self._cache = {**defaults, **stored}
            self._loaded_at = time.monotonic()
        return self._cache

    async def get(self, key: str, **values: object) -> str:
        text = (await self._texts()).get(key, key)
        return templates.fill(text, values) if values else text

    async def kind(self, kind: DiscountKind) -> str:
        return await self.get(f"kind_{kind.value}")

    def day(self, moment: datetime | date) -> str:
        """A date as customers write it (DD.MM.YYYY), in the shop's zone."""
        if isinstance(moment, datetime):
            moment = moment.astimezone(self.zone).date()
        return moment.strftime("%d.%m.%Y")

    def clock(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).strftime("%H:%M")

    def invalidate(self) -> None:
        self._loaded_at = 0.0
