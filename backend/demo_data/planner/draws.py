"""What every part of the planner shares: the random stream, `now`, ids drawn so far, helpers."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from backend.demo_data.existing import Existing, ShopSettings
from backend.demo_data.plan import Cashier, Person, Plan
from backend.demo_data.shop import CLOSING_HOUR, OPENING_HOUR, ZONE
from backend.domain.codes import generate_code

T = TypeVar("T")


class Draws:
    """The planner's state and random helpers; the parts of the shop are drawn by subclasses."""

    def __init__(
        self, rng: random.Random, now: datetime, settings: ShopSettings, existing: Existing
    ) -> None:
        self.rng = rng
        self.now = now
        self.today = now.astimezone(ZONE).date()
        self.settings = settings
        self.existing = existing
        self.plan = Plan()
        self.people: list[Person] = []
        self.cashiers: list[Cashier] = []
        self.tag_ids: dict[str, int] = {}
        self.segment_ids: dict[str, tuple[int, dict[str, Any]]] = {}
        self.codes: set[str] = set()
        self.telegram_ids: set[int] = set()
        self.usernames: set[str] = set()
        self.message_ids: dict[int, int] = {}

    def _between(self, start: datetime, end: datetime, skew: float = 1.0) -> datetime:
        """A moment in [start, end]; skew > 1 leans towards `start`."""
        if end <= start:
            return start
        seconds = int((end - start).total_seconds() * self.rng.random() ** skew)
        return start + timedelta(seconds=seconds)

    def _during_hours(
        self,
        start: datetime,
        end: datetime,
        skew: float = 1.0,
        hours: tuple[int, int] = (OPENING_HOUR, CLOSING_HOUR),
    ) -> datetime:
        """A moment in [start, end], during the given local hours when the range allows."""
        moment = self._between(start, end, skew)
        for _ in range(12):
            if hours[0] <= moment.astimezone(ZONE).hour < hours[1]:
                break
            moment = self._between(start, end, skew)
        return moment

    def _weighted(self, values: Sequence[T], weights: Sequence[int]) -> T:
        return self.rng.choices(values, weights)[0]

    def _code(self) -> str:
        code = generate_code(self.rng.choice)
        while code in self.codes:
            code = generate_code(self.rng.choice)
        self.codes.add(code)
        return code

    def _telegram_id(self, taken: frozenset[int] = frozenset()) -> int:
        telegram_id = self.rng.randrange(100_000_000, 7_999_999_999)
        while telegram_id in self.telegram_ids or telegram_id in taken:
            telegram_id = self.rng.randrange(100_000_000, 7_999_999_999)
        self.telegram_ids.add(telegram_id)
        return telegram_id
