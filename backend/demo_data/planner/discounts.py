"""Drawing discounts and what became of them: welcome, birthday, manual and promo ones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from backend.demo_data.plan import Person
from backend.demo_data.planner.draws import Draws
from backend.demo_data.shop import ZONE
from backend.demo_data.vocabulary import CANCEL_REASONS, MANUAL_REASONS
from backend.domain.birthdays import celebrated_on
from backend.domain.discounts import SUBSCRIPTION_ONCE_KEY, birthday_once_key
from backend.domain.models import ActorKind, DiscountKind, DiscountStatus


class DiscountDraws(Draws):
    """Drawing discounts and what became of them: welcome, birthday, manual and promo ones."""

    def _discounts(self, promo_sent: list[tuple[dict[str, Any], int]]) -> None:
        rows: list[dict[str, Any]] = []
        people = {person.id: person for person in self.people}
        for person in self.people:
            if self.rng.random() < 0.93:  # the rest subscribed before the welcome discount
                rows.append(self._subscription(person))
            rows.extend(self._birthday_discounts(person))
            if self.rng.random() < 0.07:
                rows.extend(self._manual(person) for _ in range(self.rng.choice((1, 1, 1, 2))))
        for delivery, percent in promo_sent:
            person = people[delivery["customer_id"]]
            rows.append(
                self._discount(
                    person,
                    DiscountKind.PROMO,
                    delivery["sent_at"],
                    percent=percent,
                    broadcast_id=delivery["broadcast_id"],
                    redeem_share=0.45,
                )
            )
        rows.sort(key=lambda row: (row["issued_at"], row["customer_id"]))
        first_id = self.existing.next_ids["discounts"]
        for offset, row in enumerate(rows):
            row["id"] = first_id + offset
        self.plan.discounts = rows

    def _subscription(self, person: Person) -> dict[str, Any]:
        issued_at: datetime = person.row["subscribed_at"]
        row = self._discount(
            person,
            DiscountKind.SUBSCRIPTION,
            issued_at,
            once_key=SUBSCRIPTION_ONCE_KEY,
            settle=False,
        )
        if person.row["source"] == "qr_kassa" and self.rng.random() < 0.7:
            # Subscribed at the till and used the welcome discount on the spot.
            redeemed_at = issued_at + timedelta(minutes=self.rng.randrange(2, 15))
            if redeemed_at <= min(self.now, row["expires_at"]):
                self._redeem(row, person, redeemed_at)
                return row
        self._settle(row, person, redeem_share=0.45)
        return row

    def _birthday_discounts(self, person: Person) -> list[dict[str, Any]]:
        birthday: date | None = person.row["birthday"]
        if birthday is None:
            return []
        rows = []
        first_year = person.row["created_at"].astimezone(ZONE).year
        for year in range(first_year, self.today.year + 2):
            day = celebrated_on(birthday, year) - timedelta(days=self.settings.birthday_days_before)
            issued_at = datetime.combine(day, time(9, 0), ZONE).astimezone(UTC)
            issued_at += timedelta(seconds=self.rng.randrange(120))
            if issued_at > self.now or not person.active_at(issued_at):
                continue
            once_key = birthday_once_key(year)
            rows.append(
                self._discount(
                    person, DiscountKind.BIRTHDAY, issued_at, once_key=once_key, redeem_share=0.55
                )
            )
        return rows

    def _manual(self, person: Person) -> dict[str, Any]:
        issued_at = self._during_hours(person.row["created_at"], self.now, hours=(10, 19))
        return self._discount(
            person,
            DiscountKind.MANUAL,
            issued_at,
            percent=self.rng.choice((5, 10, 15, 20)),
            issued_by=ActorKind.ADMIN,
            reason=self.rng.choice(MANUAL_REASONS),
            redeem_share=0.6,
        )

    def _discount(
        self,
        person: Person,
        kind: DiscountKind,
        issued_at: datetime,
        *,
        percent: int | None = None,
        once_key: str | None = None,
        issued_by: ActorKind = ActorKind.SYSTEM,
        reason: str | None = None,
        broadcast_id: int | None = None,
        redeem_share: float = 0.5,
        settle: bool = True,
    ) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": None,
            "customer_id": person.id,
            "kind": kind,
            "percent": percent or self.settings.percent[kind],
            "code": self._code(),
            "status": DiscountStatus.ACTIVE,
            "once_key": once_key,
            "issued_at": issued_at,
            "expires_at": issued_at + timedelta(days=self.settings.valid_days[kind]),
            "redeemed_at": None,
            "cancelled_at": None,
            "issued_by_kind": issued_by,
            "issued_by_admin_id": None,
            "reason": reason,
            "cashier_id": None,
            "purchase_amount": None,
            "store": None,
            "broadcast_id": broadcast_id,
        }
        if settle:
            self._settle(row, person, redeem_share)
        return row

    def _settle(self, row: dict[str, Any], person: Person, redeem_share: float) -> None:
        """Decide what became of a discount by `now`, consistently with its dates."""
        issued_at: datetime = row["issued_at"]
        expires_at: datetime = row["expires_at"]
        end = min(expires_at, self.now)
        elapsed = max(0.0, (end - issued_at) / (expires_at - issued_at))
        roll = self.rng.random()
        if roll < 0.03 and end > issued_at:
            row.update(status=DiscountStatus.CANCELLED, cancelled_at=self._between(issued_at, end))
            if self.rng.random() < 0.5:
                row["reason"] = self.rng.choice(CANCEL_REASONS)
        elif roll < 0.03 + redeem_share * elapsed**0.5 and end > issued_at:
            self._redeem(row, person, self._during_hours(issued_at, end, skew=2.0))
        elif expires_at <= self.now:
            row["status"] = DiscountStatus.EXPIRED

    def _redeem(self, row: dict[str, Any], person: Person, redeemed_at: datetime) -> None:
        joined = [cashier for cashier in self.cashiers if cashier.joined_at <= redeemed_at]
        at_home = [cashier for cashier in joined if cashier.store == person.home_store]
        pool = at_home if at_home and self.rng.random() < 0.85 else joined or self.cashiers
        cashier = self.rng.choice(pool)
        row.update(
            status=DiscountStatus.REDEEMED,
            redeemed_at=redeemed_at,
            cashier_id=cashier.id,
            store=cashier.store,
            purchase_amount=self._purchase_amount("опт" in person.tags),
        )

    def _purchase_amount(self, wholesale: bool) -> Decimal:
        """A till total in whole tens of roubles, mostly a bag of sweets, sometimes a box."""
        low, high = self._weighted(
            ((250, 900), (900, 2500), (2500, 7000), (7000, 25000)),
            (10, 40, 45, 5) if wholesale else (50, 35, 12, 3),
        )
        return Decimal(self.rng.randrange(low, high, 10)).quantize(Decimal("0.01"))
