"""The planner: draws the whole shop from one random stream and a fixed `now`, with no I/O.

Each part of the shop is drawn by its own class in this package (customers,
the fixed rows, broadcasts, discounts) on the state and random helpers of
`Draws`; `Planner` puts them together in the order the stream depends on.
"""

from __future__ import annotations

from backend.demo_data.plan import Plan
from backend.demo_data.planner.broadcasts import BroadcastDraws
from backend.demo_data.planner.customers import CustomerDraws
from backend.demo_data.planner.discounts import DiscountDraws
from backend.demo_data.planner.fixed_rows import FixedRowDraws


class Planner(CustomerDraws, FixedRowDraws, BroadcastDraws, DiscountDraws):
    """Draws the whole shop from one random stream; no I/O, so it is reproducible."""

    def build(self, count: int) -> Plan:
        self._customers(count)
        self._leap_day_birthdays()
        self._tags()
        self._cashiers()
        self._segments()
        promo_sent = self._broadcasts()
        self._blocked_without_broadcast()
        self._discounts(promo_sent)
        return self.plan
