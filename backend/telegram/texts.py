"""What Dvorik says to customers and cashiers: templates from the database, cached briefly.

Marketing edits texts in the SPA; the bots and the workers see the edit within
`TTL` seconds without a database round trip on every button press. When the
cache is cold, the requests that find it so wait for one load (single flight):
a burst of webhook updates after the TTL must not read the templates N times. A text is
rendered in its template's parse mode, with the values escaped for it; buttons
and alerts, which take no markup, get the text a reader would see (`plain`).
A menu press is told by the button's stable key, not its label of today
(`button_for`, see `backend.domain.button_labels`).
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import button_labels, templates
from backend.domain.clock import last_valid_day
from backend.domain.models import DiscountKind, ParseMode
from backend.domain.templates import Rendered

TTL = 30.0


class Texts:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], zone: ZoneInfo) -> None:
        self.sessions = sessions
        self.zone = zone
        self._cache: dict[str, tuple[str, ParseMode]] = {}
        self._presses: dict[str, str] = {}
        self._loaded_at = 0.0
        self._loading: asyncio.Future[None] | None = None  # the one load in flight
        self._edits = 0  # `invalidate` calls: a load that began before one is stale

    async def _texts(self) -> dict[str, tuple[str, ParseMode]]:
        if time.monotonic() - self._loaded_at > TTL:
            loading = self._loading
            if loading is None or loading.get_loop() is not asyncio.get_running_loop():
                loading = self._loading = asyncio.ensure_future(self._load())
                loading.add_done_callback(self._load_ended)
            # Shielded: a request that goes away does not cancel the others' load.
            await asyncio.shield(loading)
        return self._cache

    def _load_ended(self, loading: asyncio.Future[None]) -> None:
        if self._loading is loading:
            self._loading = None
        if not loading.cancelled():
            loading.exception()  # seen by its waiters; never "never retrieved"

    async def _load(self) -> None:
        edits = self._edits
        async with self.sessions() as session:
            stored = await templates.stored_texts(session)
            past = await button_labels.past_labels(session, templates.defaults())
        defaults = {key: (item.text, ParseMode.PLAIN) for key, item in templates.defaults().items()}
        self._cache = {**defaults, **stored}
        self._presses = button_labels.press_index(
            current={
                key: templates.render_text(text, mode, {}).plain
                for key, (text, mode) in self._cache.items()
                if key.startswith(button_labels.BUTTON_PREFIX)
            },
            defaults={key: text for key, (text, _) in defaults.items()},
            past=past,
        )
        if edits == self._edits:  # else an edit came meanwhile: the next call reloads
            self._loaded_at = time.monotonic()

    async def get(self, key: str, **values: object) -> Rendered:
        """The template `key` filled in, with its parse mode (an unknown key reads as itself)."""
        text, parse_mode = (await self._texts()).get(key, (key, ParseMode.PLAIN))
        return templates.render_text(text, parse_mode, values)

    async def plain(self, key: str, **values: object) -> str:
        """What a reader sees of the template: for button labels and alerts."""
        return (await self.get(key, **values)).plain

    async def button_for(self, typed: str | None) -> str | None:
        """The key of the menu button `typed` is a press of (or a hand-typed spelling of)."""
        if not typed:
            return None
        await self._texts()
        return self._presses.get(button_labels.normalized(typed))

    async def kind(self, kind: DiscountKind) -> Rendered:
        return await self.get(f"kind_{kind.value}")

    def day(self, moment: datetime | date) -> str:
        """A date as customers write it (DD.MM.YYYY), in the shop's zone."""
        if isinstance(moment, datetime):
            moment = moment.astimezone(self.zone).date()
        return moment.strftime("%d.%m.%Y")

    def last_day(self, expires_at: datetime) -> str:
        """The last day a code is usable, as customers and the till see it: `expires_at`
        is the next midnight (exclusive), so the day before it."""
        return self.day(last_valid_day(expires_at, self.zone))

    def clock(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).strftime("%H:%M")

    def invalidate(self) -> None:
        self._loaded_at = 0.0
        self._edits += 1
        self._loading = None  # a load begun before the edit serves only its own waiters
