"""`generate_volume`: the same kind of shop at benchmark sizes, written in chunks.

`generate` plans the whole shop in memory and writes it in one transaction:
right for a demo, hopeless for a million customers. `generate_volume` draws
the same kind of shop customer by customer and writes it in chunks of
`VOLUME_CHUNK` customers (with their tags, deliveries and discounts), one
transaction and a few multi-row INSERTs per chunk, so memory stays flat and
a million customers take minutes. The shape is fixed so benchmarks compare
like with like at every size: two years of customers, exactly three
discounts each in every state, 200 broadcasts with their deliveries.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.demo_data.bulk_load import bulk_session, indexes_deferred
from backend.demo_data.detailed import checked_now
from backend.demo_data.existing import Existing, ShopSettings, empty_shop, table_named
from backend.demo_data.plan import DemoSummary, Person
from backend.demo_data.planner import Planner
from backend.demo_data.shop import DEFAULT_SEED, ZONE
from backend.demo_data.vocabulary import SHORT_NAMES, SOURCE_WEIGHTS, SOURCES, latin
from backend.demo_data.writing import Progress, write
from backend.domain.codes import ALPHABET, CODE_LENGTH
from backend.domain.dialects import continue_ids
from backend.domain.kpi import rollup as kpi_rollup
from backend.domain.models import BroadcastStatus, DeliveryStatus, DiscountKind, ParseMode
from backend.domain.segments import parse_rules

VOLUME_CHUNK = 5000
VOLUME_HISTORY = timedelta(days=730)
VOLUME_BROADCASTS = 200
VOLUME_DISCOUNTS_PER_CUSTOMER = 3
# Above this size `dvorik demo-data` switches to `generate_volume`.
DETAILED_LIMIT = 200_000
_CODE_SPACE = len(ALPHABET) ** CODE_LENGTH
# Coprime with 31^8: id -> (id * _CODE_STEP + _CODE_SHIFT) mod 31^8 is a bijection,
# so every discount id gives a different, random-looking code without a lookup.
_CODE_STEP = 387_420_489_001
_CODE_SHIFT = 123_456_789_012
# Above the range `Planner._telegram_id` draws cashiers from, so the two never meet.
_VOLUME_TELEGRAM_BASE = 9_000_000_000


def volume_code(discount_id: int) -> str:
    number = (discount_id * _CODE_STEP + _CODE_SHIFT) % _CODE_SPACE
    characters = []
    for _ in range(CODE_LENGTH):
        number, digit = divmod(number, len(ALPHABET))
        characters.append(ALPHABET[digit])
    return "".join(characters)


@dataclass(frozen=True)
class VolumeBroadcast:
    id: int
    started_at: datetime
    promo_percent: int | None


async def generate_volume(
    sessions: async_sessionmaker[AsyncSession],
    *,
    customers: int,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> DemoSummary:
    """Fill an empty database with `customers` customers at volume; raises Conflict if any exist.

    Deterministic for the same arguments, like `generate`, but written in chunks:
    an error part-way leaves the chunks before it (the database is for benchmarks
    and demos, and an interrupted load is simply redone on a fresh schema).
    """
    moment = checked_now(customers, now)
    async with sessions() as session, session.begin():
        existing, settings = await empty_shop(session)
    planner = VolumePlanner(random.Random(seed), moment, settings, existing)
    fixed = planner.fixed_rows()
    async with sessions() as session, session.begin():
        await write(session, "setup", fixed, progress)
    totals = dict.fromkeys(("customers", "customer_tags", "broadcast_deliveries", "discounts"), 0)
    async with indexes_deferred(sessions, progress):
        if progress is not None:
            progress.start("customers", customers)
        for start in range(0, customers, VOLUME_CHUNK):
            parts = planner.chunk(min(VOLUME_CHUNK, customers - start))
            async with sessions() as session, session.begin(), bulk_session(session):
                for table_name, rows in parts:
                    if rows:
                        await session.execute(insert(table_named(table_name)), rows)
                    totals[table_name] += len(rows)
            if progress is not None:
                progress.advance(len(parts[0][1]))
    async with sessions() as session, session.begin():
        await continue_ids(session, [table_named(name) for name in totals])
        await kpi_rollup.forget(session)  # backdated rows: no stored day may stand (defensive)
    return DemoSummary(
        customers=totals["customers"],
        discounts=totals["discounts"],
        segments=len(planner.plan.segments),
        broadcasts=len(planner.broadcasts),
        deliveries=totals["broadcast_deliveries"],
        cashiers=len(planner.plan.cashiers),
        tags=len(planner.plan.tags),
    )


# Tables whose secondary indexes `generate_volume` builds after loading (on MySQL/MariaDB).


class VolumePlanner(Planner):
    """Draws customers a chunk at a time; ids continue from one chunk to the next."""

    def __init__(
        self, rng: random.Random, now: datetime, settings: ShopSettings, existing: Existing
    ) -> None:
        super().__init__(rng, now, settings, existing)
        self.next_customer = existing.next_ids["customers"]
        self.next_delivery = existing.next_ids["broadcast_deliveries"]
        self.next_discount = existing.next_ids["discounts"]
        self.broadcasts: list[VolumeBroadcast] = []
        self.broadcast_starts: list[datetime] = []
        self.history_start = now - VOLUME_HISTORY
        self.drawing_customers = False

    def fixed_rows(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """Tags, cashiers, segments and the broadcasts, written before any customer."""
        self._tags()
        self._cashiers()
        self._segments()
        first_id = self.existing.next_ids["broadcasts"]
        rules = parse_rules({"status": ["active"]}).model_dump(mode="json", exclude_none=True)
        span = VOLUME_HISTORY - timedelta(days=2)
        for number in range(VOLUME_BROADCASTS):
            day = (self.history_start + span * (number + 1) / VOLUME_BROADCASTS).astimezone(ZONE)
            local = datetime.combine(day.date(), time(self.rng.choice((11, 12, 18)), 0), ZONE)
            started_at = local.astimezone(UTC)
            promo = self.rng.choice((10, 15, 20)) if number % 4 == 3 else None
            broadcast = VolumeBroadcast(first_id + number, started_at, promo)
            self.broadcasts.append(broadcast)
            self.broadcast_starts.append(started_at)
            finished_at = started_at + timedelta(minutes=self.rng.randrange(5, 40))
            cancelled = number % 37 == 36
            self.plan.broadcasts.append(
                {
                    "id": broadcast.id,
                    "title": f"Рассылка №{number + 1}"
                    + (f": скидка {promo}%" if promo else ": новинки недели"),
                    "text": "Новинки и скидки «Мармеладного Дворика» — ждём вас!",
                    "parse_mode": ParseMode.PLAIN,
                    "segment_id": None,
                    "rules_snapshot": rules,
                    "promo_percent": promo,
                    "status": BroadcastStatus.CANCELLED if cancelled else BroadcastStatus.COMPLETED,
                    "scheduled_at": started_at,
                    "started_at": started_at,
                    "finished_at": finished_at,
                    "created_by_admin_id": None,
                    "updated_at": finished_at,
                    "created_at": started_at - timedelta(days=1),
                }
            )
        return [
            ("tags", self.plan.tags),
            ("cashiers", self.plan.cashiers),
            ("segments", self.plan.segments),
            ("broadcasts", self.plan.broadcasts),
        ]

    def _arrival(self) -> tuple[datetime, str | None]:
        # Evenly over the two years: a 90-day window holds an eighth of the customers,
        # which is what the KPI and segment benchmarks assume.
        source = self._weighted(SOURCES, SOURCE_WEIGHTS)
        age = int(VOLUME_HISTORY.total_seconds() * self.rng.random())
        return self.now - timedelta(seconds=max(age, 600)), source

    def _username(self, first_name: str, last_name: str, birthday: date | None) -> str:
        # Unique without a set of every name drawn so far (a million would be a lot).
        return f"{SHORT_NAMES.get(first_name, latin(first_name))}_{self.next_customer}"[:32]

    def _telegram_id(self, taken: frozenset[int] = frozenset()) -> int:
        if not self.drawing_customers:  # a cashier: drawn as in `generate`
            return super()._telegram_id(taken)
        return _VOLUME_TELEGRAM_BASE + self.next_customer

    def chunk(self, count: int) -> list[tuple[str, list[dict[str, Any]]]]:
        """`count` customers in arrival order with their tags, deliveries and discounts."""
        arrivals = sorted((self._arrival() for _ in range(count)), key=lambda pair: pair[0])
        # Chunks are drawn independently; their arrival times interleave, which is fine:
        # nothing in the shop relies on ids following creation order across chunks.
        customers: list[dict[str, Any]] = []
        tags: list[dict[str, Any]] = []
        deliveries: list[dict[str, Any]] = []
        discounts: list[dict[str, Any]] = []
        self.message_ids.clear()  # a customer's messages all fall within their chunk
        self.drawing_customers = True
        for created_at, source in arrivals:
            person = self._person(self.next_customer, created_at, source)
            self.next_customer += 1
            received = self._deliveries(person)
            deliveries.extend(received)
            if person.blocked_bot_at is not None:
                person.row["unsubscribed_at"] = person.blocked_bot_at
                person.blocked_bot_at = None
            customers.append(person.row)
            tags.extend(
                {"customer_id": person.id, "tag_id": self.tag_ids[name]} for name in person.tags
            )
            discounts.extend(self._volume_discounts(person, received))
        return [
            ("customers", customers),
            ("customer_tags", tags),
            ("broadcast_deliveries", deliveries),
            ("discounts", discounts),
        ]

    def _deliveries(self, person: Person) -> list[dict[str, Any]]:
        """About one broadcast per customer, picked among those sent while subscribed."""
        received: list[dict[str, Any]] = []
        subscribed_at: datetime | None = person.row["subscribed_at"]
        if subscribed_at is None:
            return received
        first = bisect.bisect_left(self.broadcast_starts, subscribed_at)
        if first == len(self.broadcasts):
            return received
        for _ in range(self._weighted((0, 1, 2), (15, 55, 30))):
            broadcast = self.broadcasts[self.rng.randrange(first, len(self.broadcasts))]
            if not person.active_at(broadcast.started_at) or any(
                row["broadcast_id"] == broadcast.id for row in received
            ):
                continue
            moment = broadcast.started_at + timedelta(seconds=self.rng.randrange(1800))
            received.append(self._delivery(self.next_delivery, broadcast.id, person, moment, True))
            self.next_delivery += 1
        return received

    def _volume_discounts(
        self, person: Person, received: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Exactly three: the welcome one, a birthday or manual one, a promo or manual one."""
        rows = [self._subscription(person)]
        birthday_rows = self._birthday_discounts(person)
        rows.append(birthday_rows[-1] if birthday_rows else self._manual(person))
        promos = [
            (row, broadcast)
            for row in received
            if row["status"] is DeliveryStatus.SENT
            for broadcast in (self.broadcasts[row["broadcast_id"] - self.broadcasts[0].id],)
            if broadcast.promo_percent
        ]
        if promos:
            delivery, broadcast = promos[0]
            rows.append(
                self._discount(
                    person,
                    DiscountKind.PROMO,
                    delivery["sent_at"],
                    percent=broadcast.promo_percent,
                    broadcast_id=broadcast.id,
                    redeem_share=0.45,
                )
            )
        else:
            rows.append(self._manual(person))
        for row in rows:
            row["id"] = self.next_discount
            row["code"] = volume_code(self.next_discount)
            self.next_discount += 1
        return rows

    def _code(self) -> str:
        return ""  # replaced by `volume_code` once the id is known
