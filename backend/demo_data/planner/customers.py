"""Drawing customers: arrival, name, birthday, consent and its withdrawal, tags."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from typing import Any

from backend.demo_data.plan import Person
from backend.demo_data.planner.draws import Draws
from backend.demo_data.shop import CLOSING_HOUR, OPENING_HOUR, STORES, ZONE
from backend.demo_data.vocabulary import (
    FEMALE_NAMES,
    LANGUAGE_WEIGHTS,
    LANGUAGES,
    MALE_NAMES,
    NOTES,
    PHONE_PREFIXES,
    SHORT_NAMES,
    SOURCE_WEIGHTS,
    SOURCES,
    SURNAMES,
    TAG_COUNT_WEIGHTS,
    TAG_WEIGHTS,
    TAGS,
    latin,
)
from backend.domain.birthdays import celebrated_on
from backend.domain.models import CustomerStatus

HISTORY = timedelta(days=548)  # about eighteen months of customers


class CustomerDraws(Draws):
    """Drawing customers: arrival, name, birthday, consent and its withdrawal, tags."""

    def _customers(self, count: int) -> None:
        # Arrival times first, so ids follow registration order like real autoincrement ids.
        arrivals = sorted((self._arrival() for _ in range(count)), key=lambda pair: pair[0])
        first_id = self.existing.next_ids["customers"]
        for offset, (created_at, source) in enumerate(arrivals):
            person = self._person(first_id + offset, created_at, source)
            self.people.append(person)
            self.plan.customers.append(person.row)

    def _arrival(self) -> tuple[datetime, str | None]:
        source = self._weighted(SOURCES, SOURCE_WEIGHTS)
        # More customers lately (the bot caught on): ages lean towards zero.
        age = int(HISTORY.total_seconds() * self.rng.random() ** 1.3)
        created_at = self.now - timedelta(seconds=max(age, 600))
        if source == "qr_kassa":  # scanned at the till, so during opening hours
            local = created_at.astimezone(ZONE)
            if not OPENING_HOUR <= local.hour < CLOSING_HOUR:
                local = local.replace(hour=self.rng.randrange(OPENING_HOUR, CLOSING_HOUR))
                created_at = local.astimezone(UTC)
                if created_at > self.now:
                    created_at -= timedelta(days=1)
        return created_at, source

    def _person(self, customer_id: int, created_at: datetime, source: str | None) -> Person:
        rng = self.rng
        female = rng.random() < 0.62
        first_name = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
        surname = rng.choice(SURNAMES)
        last_name = surname[1] if female else surname[0]
        birthday = self._birthday() if rng.random() < 0.7 else None
        status = self._weighted(list(CustomerStatus), (85, 12, 3))
        # Most press /start and consent in one go; some look around first.
        subscribed_at = created_at
        if rng.random() < 0.2:
            subscribed_at = self._between(
                created_at, min(created_at + timedelta(days=20), self.now)
            )
        unsubscribed_at = None
        blocked_bot_at = None
        if status is CustomerStatus.ACTIVE:
            last_seen_at = self._between(subscribed_at, self.now, 0.5)
        elif status is CustomerStatus.UNSUBSCRIBED:
            unsubscribed_at = self._between(subscribed_at, self.now)
            last_seen_at = self._between(unsubscribed_at, self.now, 3.0)
        else:  # blocked: unsubscribed_at is when we find out, see _broadcasts
            blocked_bot_at = self._between(subscribed_at, self.now)
            last_seen_at = self._between(subscribed_at, blocked_bot_at, 0.5)
        tags = self._tag_names()
        home_store = STORES[0] if rng.random() < 0.6 else STORES[1]
        row: dict[str, Any] = {
            "id": customer_id,
            "telegram_id": self._telegram_id(),
            "first_name": first_name,
            "last_name": last_name if rng.random() < 0.93 else None,
            "username": self._username(first_name, last_name, birthday)
            if rng.random() < 0.45
            else None,
            "phone": f"+7{rng.choice(PHONE_PREFIXES)}{rng.randrange(10**7):07d}"
            if rng.random() < 0.35
            else None,
            "birthday": birthday,
            "birth_month": birthday.month if birthday else None,
            "birth_day": birthday.day if birthday else None,
            "language": self._weighted(LANGUAGES, LANGUAGE_WEIGHTS),
            "source": source,
            "status": status,
            # unsubscribe() withdraws consent; mark_blocked() leaves it (nobody asked).
            "marketing_consent_at": None
            if status is CustomerStatus.UNSUBSCRIBED
            else subscribed_at,
            "subscribed_at": subscribed_at,
            "unsubscribed_at": unsubscribed_at,
            "note": rng.choice(NOTES) if rng.random() < (0.5 if "vip" in tags else 0.05) else None,
            "last_seen_at": last_seen_at,
            "created_at": created_at,
        }
        return Person(row, home_store, tags, blocked_bot_at)

    def _age_bounds(self) -> tuple[date, date]:
        """Birthdays of people aged 16 to 70 today."""
        oldest = celebrated_on(self.today, self.today.year - 71) + timedelta(days=1)
        youngest = celebrated_on(self.today, self.today.year - 16)
        return oldest, youngest

    def _birthday(self) -> date:
        oldest, youngest = self._age_bounds()
        age = self.rng.triangular(16.0, 71.0, 27.0)
        born = self.today - timedelta(days=int(age * 365.2425))
        return min(max(born, oldest), youngest)

    def _leap_day_birthdays(self) -> None:
        """Make sure a couple of customers were born on 29 February."""
        with_birthday = [person for person in self.people if person.row["birthday"] is not None]
        if len(with_birthday) < 2:
            return
        oldest, youngest = self._age_bounds()
        for person in self.rng.sample(with_birthday, 2):
            born: date = person.row["birthday"]
            leap_years = [
                year
                for year in range(oldest.year, youngest.year + 1)
                if calendar.isleap(year) and oldest <= date(year, 2, 29) <= youngest
            ]
            year = min(leap_years, key=lambda candidate: abs(candidate - born.year))
            person.row.update(birthday=date(year, 2, 29), birth_month=2, birth_day=29)

    def _username(self, first_name: str, last_name: str, birthday: date | None) -> str:
        rng = self.rng
        first = latin(first_name)
        short = SHORT_NAMES.get(first_name, first)
        last = latin(last_name)
        year = f"{birthday.year % 100:02d}" if birthday else f"{rng.randrange(100):02d}"
        pattern = rng.randrange(6)
        username = (
            f"{short}_{last}",
            f"{first}{last}",
            f"{short}{year}",
            f"{last}_{first[0]}",
            f"sweet_{short}",
            f"{short}_vl",
        )[pattern]
        while len(username) < 5 or username in self.usernames:
            username += str(rng.randrange(10))
        self.usernames.add(username)
        return username[:32]

    def _tag_names(self) -> list[str]:
        count = self._weighted(range(4), TAG_COUNT_WEIGHTS)
        names = list(TAGS)
        weights = list(TAG_WEIGHTS)
        chosen = []
        for _ in range(count):
            index = self._weighted(range(len(names)), weights)
            chosen.append(names.pop(index))
            weights.pop(index)
        return sorted(chosen)
