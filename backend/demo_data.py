"""Demo data: a believable shop that comes out the same for the same seed.

`generate` fills an empty database with customers, their tags and discounts,
cashiers, segments and a few past broadcasts with their delivery ledger. The
whole population is first planned in memory from one `random.Random(seed)`
and a fixed `now`, then written with Core bulk inserts in one transaction, so
two runs on empty databases give identical rows and a failed run leaves none.

The plan follows what the services would have done, so screens and reports
look like a shop that has been running for a year and a half:

* customers register with /start and mostly consent at once (subscribed_at ==
  created_at); the ones who left are `unsubscribed` (consent withdrawn) or
  `blocked` (found out when a message bounced: a broadcast delivery marked
  "blocked", consent kept as `mark_blocked` keeps it);
* most subscribers got the welcome discount once (once_key "subscription"),
  every customer active on a birthday got that year's birthday discount
  (once_key "birthday:YYYY", issued at 09:00 in the shop's zone), admins gave
  a few manual ones with a reason, and the last broadcast carried a promo;
* percents and validity come from the shop settings (their defaults on a
  fresh database); a discount is active only while it has not expired,
  expired ones are past their date, redeemed ones were used at a till during
  opening hours by a cashier who had already joined, cancelled ones were
  withdrawn in time.

No admins are created: the first owner is made with `dvorik create-admin`.
"""

from __future__ import annotations

import bisect
import calendar
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Table, UniqueConstraint, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import shop_settings
from backend.domain.birthdays import celebrated_on
from backend.domain.codes import ALPHABET, CODE_LENGTH, generate_code
from backend.domain.discounts import SUBSCRIPTION_ONCE_KEY, birthday_once_key
from backend.domain.errors import Conflict
from backend.domain.kpi import rollup as kpi_rollup
from backend.domain.models import (
    ActorKind,
    Base,
    BroadcastStatus,
    Customer,
    CustomerStatus,
    DeliveryStatus,
    DiscountKind,
    DiscountStatus,
    ParseMode,
)
from backend.domain.segments import CustomerFacts, matches, parse_rules

DEFAULT_SEED = 20261125
DEFAULT_NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 12:00 in Vladivostok
BATCH_SIZE = 1000
ZONE = ZoneInfo("Asia/Vladivostok")
HISTORY = timedelta(days=548)  # about eighteen months of customers
OPENING_HOUR, CLOSING_HOUR = 10, 21

T = TypeVar("T")

# --- Vocabulary ---------------------------------------------------------------------------

MALE_NAMES = (
    "Александр", "Алексей", "Андрей", "Артём", "Владимир", "Дмитрий", "Денис", "Евгений",
    "Иван", "Игорь", "Кирилл", "Максим", "Михаил", "Никита", "Николай", "Олег", "Павел",
    "Роман", "Сергей", "Тимур", "Юрий",
)  # fmt: skip
FEMALE_NAMES = (
    "Александра", "Алина", "Анастасия", "Анна", "Валерия", "Вероника", "Виктория", "Дарья",
    "Екатерина", "Елена", "Ирина", "Ксения", "Мария", "Марина", "Наталья", "Ольга",
    "Полина", "Светлана", "Софья", "Татьяна", "Юлия",
)  # fmt: skip
# (masculine, feminine); Korean and Ukrainian surnames do not change, common in Primorye.
SURNAMES = (
    ("Иванов", "Иванова"), ("Смирнов", "Смирнова"), ("Кузнецов", "Кузнецова"),
    ("Попов", "Попова"), ("Васильев", "Васильева"), ("Петров", "Петрова"),
    ("Соколов", "Соколова"), ("Михайлов", "Михайлова"), ("Новиков", "Новикова"),
    ("Фёдоров", "Фёдорова"), ("Морозов", "Морозова"), ("Волков", "Волкова"),
    ("Алексеев", "Алексеева"), ("Лебедев", "Лебедева"), ("Семёнов", "Семёнова"),
    ("Егоров", "Егорова"), ("Павлов", "Павлова"), ("Козлов", "Козлова"),
    ("Степанов", "Степанова"), ("Николаев", "Николаева"), ("Орлов", "Орлова"),
    ("Андреев", "Андреева"), ("Макаров", "Макарова"), ("Никитин", "Никитина"),
    ("Захаров", "Захарова"), ("Зайцев", "Зайцева"), ("Соловьёв", "Соловьёва"),
    ("Борисов", "Борисова"), ("Яковлев", "Яковлева"), ("Григорьев", "Григорьева"),
    ("Романов", "Романова"), ("Воробьёв", "Воробьёва"), ("Ильин", "Ильина"),
    ("Вишневский", "Вишневская"), ("Ковальский", "Ковальская"), ("Толстой", "Толстая"),
    ("Ким", "Ким"), ("Пак", "Пак"), ("Цой", "Цой"), ("Шевченко", "Шевченко"),
    ("Бондаренко", "Бондаренко"),
)  # fmt: skip
# What friends call them, for usernames like "masha_petrova".
SHORT_NAMES = {
    "Александр": "sasha", "Алексей": "lesha", "Дмитрий": "dima", "Евгений": "zhenya",
    "Михаил": "misha", "Николай": "kolya", "Сергей": "seryozha", "Владимир": "vova",
    "Александра": "sasha", "Анастасия": "nastya", "Валерия": "lera", "Виктория": "vika",
    "Екатерина": "katya", "Елена": "lena", "Мария": "masha", "Наталья": "natasha",
    "Светлана": "sveta", "Татьяна": "tanya", "Юлия": "yulya", "Ксения": "ksyusha",
}  # fmt: skip
_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya",
}  # fmt: skip
PHONE_PREFIXES = ("914", "924", "902", "908", "950", "964", "984", "999")
SOURCES: tuple[str | None, ...] = ("instagram", "vk", "qr_kassa", "friend", None)
SOURCE_WEIGHTS = (28, 18, 32, 10, 12)
LANGUAGES: tuple[str | None, ...] = ("ru", "en", None)
LANGUAGE_WEIGHTS = (92, 5, 3)
TAGS = ("сладкоежка", "мармелад", "шоколад", "дети", "подарки", "опт", "vip")
TAG_WEIGHTS = (30, 25, 22, 14, 12, 4, 3)
TAG_COUNT_WEIGHTS = (35, 35, 20, 10)  # 0, 1, 2 or 3 tags
NOTES = (
    "Любит клубничный мармелад, спрашивает о новинках",
    "Постоянный покупатель, просит звонить при поступлении бельгийского шоколада",
    "Заказывает сладкие подарки для сотрудников к праздникам",
    "Аллергия на орехи — предлагать без орехов",
    "Оптовик: кофейня на Океанском проспекте",
    "Просила отложить мармеладных мишек на выходные",
    "Детский сад «Солнышко», закупки на утренники",
    "Оставила отзыв на картах, поблагодарить при следующем визите",
    "Предпочитает связь в Telegram, по телефону не звонить",
    "Покупает подарочные наборы на дни рождения коллег",
)
MANUAL_REASONS = (
    "Компенсация за задержку заказа",
    "Подарок постоянному покупателю",
    "Извинение за ошибку на кассе",
    "Победитель конкурса в Instagram",
    "Оптовый заказ к празднику",
    "Отзыв на Яндекс Картах",
    "Благодарность за участие в дегустации",
)
CANCEL_REASONS = (
    "Выдана по ошибке",
    "Покупатель попросил заменить скидку",
    "Дубликат скидки",
)
DELIVERY_ERRORS = (
    "Bad Request: chat not found",
    "Internal Server Error: restart",
    "Bad Gateway",
)
BLOCKED_ERROR = "Forbidden: bot was blocked by the user"
STORES = ("Светланская, 33", "Алеутская, 17")


@dataclass(frozen=True)
class _CashierSpec:
    name: str
    store: str
    joined_days_ago: int


CASHIERS = (
    _CashierSpec("Ольга Смирнова", STORES[0], 610),
    _CashierSpec("Марина Ким", STORES[0], 590),
    _CashierSpec("Дарья Волкова", STORES[1], 600),
    _CashierSpec("Екатерина Пак", STORES[1], 150),
)


@dataclass(frozen=True)
class _SegmentSpec:
    name: str
    description: str
    rules: dict[str, Any]
    created_days_ago: int
    updated_days_ago: int


def _midnight_days_ago(now: datetime, days: int) -> str:
    """Midnight in the shop's zone `days` before `now`, as a marketer would pick it."""
    day = now.astimezone(ZONE).date() - timedelta(days=days)
    return datetime.combine(day, time(0, 0), ZONE).astimezone(UTC).isoformat()


def _segment_specs(now: datetime) -> tuple[_SegmentSpec, ...]:
    return (
        _SegmentSpec(
            "Сладкоежки",
            "Любят мармелад и шоколад и получают рассылки",
            {"tags_any": ["сладкоежка", "мармелад", "шоколад"], "status": ["active"]},
            70,
            65,
        ),
        _SegmentSpec(
            "Именинники декабря",
            "Подписчики, у которых день рождения в декабре",
            {"birthday_month": 12, "status": ["active"]},
            40,
            40,
        ),
        _SegmentSpec(
            "Давно не заходили",
            "Подписаны, но не открывали бота три месяца и без действующей скидки",
            {
                "status": ["active"],
                "last_seen_before": _midnight_days_ago(now, 90),
                "has_active_discount": False,
            },
            200,
            2,
        ),
        _SegmentSpec("VIP", "Особые покупатели", {"tags_any": ["vip"]}, 300, 300),
        _SegmentSpec(
            "Новые из соцсетей",
            "Пришли из Instagram и VK за последние два месяца, кроме оптовиков",
            {
                "source": ["instagram", "vk"],
                "subscribed_from": _midnight_days_ago(now, 60),
                "status": ["active"],
                "tags_none": ["опт"],
            },
            25,
            1,
        ),
    )


@dataclass(frozen=True)
class _BroadcastSpec:
    title: str
    text: str
    parse_mode: ParseMode
    days_ago: int
    local_hour: int
    segment: str | None = None  # name of a segment, None for every subscriber
    promo_percent: int | None = None
    cancelled_after: float | None = None  # share of the audience reached before cancelling


BROADCASTS = (
    _BroadcastSpec(
        "Новинки: жевательный мармелад",
        "В «Мармеладном Дворике» новинки! Жевательный мармелад с натуральными соками: "
        "манго, маракуйя и юдзу. Приходите попробовать — на Светланской и Алеутской.",
        ParseMode.PLAIN,
        118,
        11,
    ),
    _BroadcastSpec(
        "Шоколадная неделя",
        "<b>Шоколадная неделя</b> в «Мармеладном Дворике»: бельгийский шоколад на развес, "
        "трюфели ручной работы и горячий шоколад с собой. Ждём вас!",
        ParseMode.HTML,
        46,
        18,
        segment="Сладкоежки",
    ),
    _BroadcastSpec(
        "Осенняя дегустация",
        "Приглашаем на дегустацию осенней коллекции в субботу с 12:00 до 16:00!",
        ParseMode.PLAIN,
        19,
        12,
        cancelled_after=0.35,
    ),
    _BroadcastSpec(
        "Скидка 15% к выходным",
        "Только для подписчиков: скидка 15% на всё к выходным! "
        "Покажите код из следующего сообщения на кассе. Действует неделю.",
        ParseMode.PLAIN,
        3,
        11,
        promo_percent=15,
    ),
)


# --- Public interface ---------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSummary:
    """How many rows of each kind `generate` wrote."""

    customers: int
    discounts: int
    segments: int
    broadcasts: int
    deliveries: int
    cashiers: int = 0
    tags: int = 0


class Progress(Protocol):
    """Where `generate` reports its stages: `start` once per stage, then `advance`s."""

    def start(self, stage: str, total: int) -> None: ...

    def advance(self, amount: int) -> None: ...


async def has_data(session: AsyncSession) -> bool:
    """Whether any customer exists (demo data only goes into an empty database)."""
    return await session.scalar(select(func.min(_table("customers").c.id))) is not None


async def generate(
    sessions: async_sessionmaker[AsyncSession],
    *,
    customers: int = 5000,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> DemoSummary:
    """Fill an empty database with demo data; raises Conflict if customers exist.

    Everything derives from `seed` and `now` (an aware datetime, default
    `DEFAULT_NOW`), so the same arguments on an empty database give the same
    rows. All rows go in one transaction: an error leaves the database as it was.
    """
    moment = _moment(customers, now)
    async with sessions() as session, session.begin():
        existing, settings = await _empty_shop(session)
        plan = _Planner(random.Random(seed), moment, settings, existing).build(customers)
        for stage, parts in plan.stages():
            await _write(session, stage, parts, progress)
        await kpi_rollup.forget(session)  # backdated rows: no stored day may stand (defensive)
    return plan.summary()


def _moment(customers: int, now: datetime | None) -> datetime:
    """The arguments both generators take, checked; the data's 'now' in UTC."""
    if customers < 0:
        raise ValueError("customers cannot be negative")
    moment = DEFAULT_NOW if now is None else now
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    return moment.astimezone(UTC)


async def _empty_shop(session: AsyncSession) -> tuple[_Existing, _Settings]:
    """What a fresh shop already holds (templates, settings); Conflict if it has customers."""
    if await has_data(session):
        raise Conflict("the database already has customers; demo data goes into an empty database")
    existing = await _Existing.read(session)
    return existing, _Settings.from_values(await shop_settings.get_all(session))


async def add_subscribers(
    sessions: async_sessionmaker[AsyncSession],
    count: int,
    *,
    first_telegram_id: int = 6_000_000_000,
    chunk: int = 5000,
) -> None:
    """`count` plain active customers who consented to marketing, in bulk, in one transaction.

    Not a believable shop: an audience of identical subscribers (telegram ids
    from `first_telegram_id` on), for the tests and benchmarks of broadcasts
    and of load, where only how many there are matters.
    """
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        for start in range(0, count, chunk):
            rows = [
                {
                    "telegram_id": first_telegram_id + number,
                    "first_name": f"Покупатель {number}",
                    "status": CustomerStatus.ACTIVE,
                    "marketing_consent_at": now,
                    "subscribed_at": now,
                    "last_seen_at": now,
                }
                for number in range(start, min(count, start + chunk))
            ]
            await session.execute(insert(Customer), rows)


# --- Reading what is there ----------------------------------------------------------------


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


@dataclass(frozen=True)
class _Existing:
    """Rows that may predate the demo (cashiers, segments, tags...): ids continue after them."""

    next_ids: dict[str, int]
    tag_ids: dict[str, int]
    segment_names: frozenset[str]
    cashier_telegram_ids: frozenset[int]

    @classmethod
    async def read(cls, session: AsyncSession) -> _Existing:
        next_ids: dict[str, int] = {}
        for name in ("customers", "tags", "cashiers", "segments", "broadcasts",
                     "broadcast_deliveries", "discounts"):  # fmt: skip
            largest = await session.scalar(select(func.max(_table(name).c.id)))
            next_ids[name] = (largest or 0) + 1
        tags = _table("tags")
        tag_ids = {name: id_ for id_, name in await session.execute(select(tags.c.id, tags.c.name))}
        names = await session.scalars(select(_table("segments").c.name))
        telegram_ids = await session.scalars(select(_table("cashiers").c.telegram_id))
        return cls(
            next_ids=next_ids,
            tag_ids=tag_ids,
            segment_names=frozenset(name.casefold() for name in names),
            cashier_telegram_ids=frozenset(id_ for id_ in telegram_ids if id_ is not None),
        )


@dataclass(frozen=True)
class _Settings:
    percent: dict[DiscountKind, int]
    valid_days: dict[DiscountKind, int]
    birthday_days_before: int
    send_rate: int

    @classmethod
    def from_values(cls, values: dict[str, int | bool | str]) -> _Settings:
        def number(key: str) -> int:
            value = values[key]
            assert isinstance(value, int)
            return value

        return cls(
            percent={kind: number(f"discount_percent_{kind.value}") for kind in DiscountKind},
            valid_days={kind: number(f"discount_valid_days_{kind.value}") for kind in DiscountKind},
            birthday_days_before=number("birthday_days_before"),
            send_rate=number("broadcast_send_rate_per_second"),
        )


# --- Planning in memory -------------------------------------------------------------------


@dataclass
class _Person:
    row: dict[str, Any]
    home_store: str
    tags: list[str]
    # When a blocked customer blocked the bot; we learn of it when a message bounces.
    blocked_bot_at: datetime | None = None

    @property
    def id(self) -> int:
        return int(self.row["id"])

    def active_at(self, moment: datetime) -> bool:
        subscribed: datetime | None = self.row["subscribed_at"]
        left: datetime | None = self.row["unsubscribed_at"]
        return subscribed is not None and subscribed <= moment and (left is None or moment < left)


@dataclass
class _Cashier:
    id: int
    store: str
    joined_at: datetime


@dataclass
class _Plan:
    customers: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    customer_tags: list[dict[str, Any]] = field(default_factory=list)
    cashiers: list[dict[str, Any]] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)
    broadcasts: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    discounts: list[dict[str, Any]] = field(default_factory=list)

    def stages(self) -> list[tuple[str, list[tuple[str, list[dict[str, Any]]]]]]:
        """(stage, [(table, rows)]) in an order that satisfies the foreign keys."""
        return [
            ("customers", [("customers", self.customers)]),
            ("tags", [("tags", self.tags), ("customer_tags", self.customer_tags)]),
            ("cashiers", [("cashiers", self.cashiers)]),
            ("segments", [("segments", self.segments)]),
            ("broadcasts", [("broadcasts", self.broadcasts)]),
            ("deliveries", [("broadcast_deliveries", self.deliveries)]),
            ("discounts", [("discounts", self.discounts)]),
        ]

    def summary(self) -> DemoSummary:
        return DemoSummary(
            customers=len(self.customers),
            discounts=len(self.discounts),
            segments=len(self.segments),
            broadcasts=len(self.broadcasts),
            deliveries=len(self.deliveries),
            cashiers=len(self.cashiers),
            tags=len(self.tags),
        )


class _Planner:
    """Draws the whole shop from one random stream; no I/O, so it is reproducible."""

    def __init__(
        self, rng: random.Random, now: datetime, settings: _Settings, existing: _Existing
    ) -> None:
        self.rng = rng
        self.now = now
        self.today = now.astimezone(ZONE).date()
        self.settings = settings
        self.existing = existing
        self.plan = _Plan()
        self.people: list[_Person] = []
        self.cashiers: list[_Cashier] = []
        self.tag_ids: dict[str, int] = {}
        self.segment_ids: dict[str, tuple[int, dict[str, Any]]] = {}
        self.codes: set[str] = set()
        self.telegram_ids: set[int] = set()
        self.usernames: set[str] = set()
        self.message_ids: dict[int, int] = {}

    def build(self, count: int) -> _Plan:
        self._customers(count)
        self._leap_day_birthdays()
        self._tags()
        self._cashiers()
        self._segments()
        promo_sent = self._broadcasts()
        self._blocked_without_broadcast()
        self._discounts(promo_sent)
        return self.plan

    # --- random helpers

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

    # --- customers

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

    def _person(self, customer_id: int, created_at: datetime, source: str | None) -> _Person:
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
        return _Person(row, home_store, tags, blocked_bot_at)

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
        first = _latin(first_name)
        short = SHORT_NAMES.get(first_name, first)
        last = _latin(last_name)
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

    # --- tags, cashiers, segments

    def _tags(self) -> None:
        next_id = self.existing.next_ids["tags"]
        for name in TAGS:
            if name in self.existing.tag_ids:
                self.tag_ids[name] = self.existing.tag_ids[name]
                continue
            self.tag_ids[name] = next_id
            self.plan.tags.append({"id": next_id, "name": name})
            next_id += 1
        for person in self.people:
            for name in person.tags:
                self.plan.customer_tags.append(
                    {"customer_id": person.id, "tag_id": self.tag_ids[name]}
                )

    def _cashiers(self) -> None:
        next_id = self.existing.next_ids["cashiers"]
        for offset, spec in enumerate(CASHIERS):
            joined_at = self._during_hours(
                self.now - timedelta(days=spec.joined_days_ago + 1),
                self.now - timedelta(days=spec.joined_days_ago),
            )
            cashier = _Cashier(next_id + offset, spec.store, joined_at)
            self.cashiers.append(cashier)
            self.plan.cashiers.append(
                {
                    "id": cashier.id,
                    "name": spec.name,
                    "store": spec.store,
                    "telegram_id": self._telegram_id(self.existing.cashier_telegram_ids),
                    "invite_code_hash": None,
                    "invite_expires_at": None,
                    "joined_at": joined_at,
                    "is_active": True,
                    "created_at": joined_at - timedelta(hours=self.rng.randrange(2, 48)),
                }
            )

    def _segments(self) -> None:
        next_id = self.existing.next_ids["segments"]
        for spec in _segment_specs(self.now):
            name = spec.name
            if name.casefold() in self.existing.segment_names:
                name = f"{name} (демо)"
            # Stored as the segments service stores them: validated, in canonical form.
            rules = parse_rules(spec.rules).model_dump(mode="json", exclude_none=True)
            created_at = self.now - timedelta(days=spec.created_days_ago, hours=3)
            updated_at = self.now - timedelta(days=spec.updated_days_ago, hours=2)
            self.segment_ids[spec.name] = (next_id, rules)
            self.plan.segments.append(
                {
                    "id": next_id,
                    "name": name,
                    "description": spec.description,
                    "rules": rules,
                    "created_at": created_at,
                    "updated_at": max(created_at, updated_at),
                }
            )
            next_id += 1

    # --- broadcasts and their ledger

    def _broadcasts(self) -> list[tuple[dict[str, Any], int]]:
        """Past broadcasts, one delivery per recipient; returns (delivery, percent) of promos."""
        broadcast_id = self.existing.next_ids["broadcasts"]
        delivery_id = self.existing.next_ids["broadcast_deliveries"]
        promo_sent: list[tuple[dict[str, Any], int]] = []
        for spec in BROADCASTS:
            day = self.today - timedelta(days=spec.days_ago)
            started_at = datetime.combine(day, time(spec.local_hour, 0), ZONE).astimezone(UTC)
            started_at += timedelta(seconds=self.rng.randrange(3))
            if started_at >= self.now:
                continue
            segment_id, rules = (None, {"status": ["active"]})
            if spec.segment is not None:
                segment_id, rules = self.segment_ids[spec.segment]
            audience = self._audience(rules, started_at)
            reached = len(audience)
            if spec.cancelled_after is not None:
                reached = int(len(audience) * spec.cancelled_after)
            moment = started_at
            for position, person in enumerate(audience):
                moment = started_at + timedelta(seconds=position / self.settings.send_rate)
                row = self._delivery(delivery_id, broadcast_id, person, moment, position < reached)
                self.plan.deliveries.append(row)
                delivery_id += 1
                if spec.promo_percent and row["status"] is DeliveryStatus.SENT:
                    promo_sent.append((row, spec.promo_percent))
            finished_at = (
                started_at + timedelta(seconds=reached / self.settings.send_rate + 5)
                if spec.cancelled_after is not None
                else moment + timedelta(seconds=2)
            )
            status = (
                BroadcastStatus.CANCELLED
                if spec.cancelled_after is not None
                else BroadcastStatus.COMPLETED
            )
            created_at = started_at - timedelta(days=1, hours=self.rng.randrange(1, 6))
            self.plan.broadcasts.append(
                {
                    "id": broadcast_id,
                    "title": spec.title,
                    "text": spec.text,
                    "parse_mode": spec.parse_mode,
                    "segment_id": segment_id,
                    "rules_snapshot": rules,
                    "promo_percent": spec.promo_percent,
                    "status": status,
                    "scheduled_at": started_at.replace(second=0),
                    "started_at": started_at,
                    "finished_at": finished_at,
                    "created_by_admin_id": None,
                    "updated_at": finished_at,
                    "created_at": created_at,
                }
            )
            broadcast_id += 1
        return promo_sent

    def _audience(self, rules: dict[str, Any], moment: datetime) -> list[_Person]:
        """Who the rules selected when sending started (only tag/status/profile rules)."""
        parsed = parse_rules(rules)
        audience = []
        for person in self.people:
            if not person.active_at(moment):
                continue
            facts = CustomerFacts(
                status=CustomerStatus.ACTIVE,
                tags=frozenset(person.tags),
                subscribed_at=person.row["subscribed_at"],
                birth_month=person.row["birth_month"],
                last_seen_at=min(person.row["last_seen_at"], moment),
                source=person.row["source"],
            )
            if matches(parsed, facts, now=moment):
                audience.append(person)
        return audience

    def _delivery(
        self, delivery_id: int, broadcast_id: int, person: _Person, moment: datetime, reached: bool
    ) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": delivery_id,
            "broadcast_id": broadcast_id,
            "customer_id": person.id,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "last_error": None,
            "telegram_message_id": None,
            "sent_at": None,
        }
        if not reached:
            return row
        if person.blocked_bot_at is not None and person.blocked_bot_at <= moment:
            # Telegram refused: this is how the shop learnt the customer blocked the bot.
            person.row["unsubscribed_at"] = moment
            person.blocked_bot_at = None
            row.update(status=DeliveryStatus.BLOCKED, attempts=1, last_error=BLOCKED_ERROR)
        elif self.rng.random() < 0.012:
            row.update(
                status=DeliveryStatus.FAILED,
                attempts=3,
                last_error=self.rng.choice(DELIVERY_ERRORS),
            )
        else:
            message_id = self.message_ids.get(person.id, self.rng.randrange(3, 40))
            message_id += self.rng.randrange(1, 30)
            self.message_ids[person.id] = message_id
            row.update(
                status=DeliveryStatus.SENT,
                attempts=1 if self.rng.random() < 0.98 else 2,
                telegram_message_id=message_id,
                sent_at=moment,
            )
        return row

    def _blocked_without_broadcast(self) -> None:
        """Blocked customers no broadcast reached: a birthday greeting or reply bounced."""
        for person in self.people:
            if person.blocked_bot_at is not None:
                person.row["unsubscribed_at"] = person.blocked_bot_at
                person.blocked_bot_at = None

    # --- discounts

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

    def _subscription(self, person: _Person) -> dict[str, Any]:
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

    def _birthday_discounts(self, person: _Person) -> list[dict[str, Any]]:
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

    def _manual(self, person: _Person) -> dict[str, Any]:
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
        person: _Person,
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

    def _settle(self, row: dict[str, Any], person: _Person, redeem_share: float) -> None:
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

    def _redeem(self, row: dict[str, Any], person: _Person, redeemed_at: datetime) -> None:
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


def _latin(name: str) -> str:
    return "".join(_LATIN.get(char, char) for char in name.lower())


# --- Writing ------------------------------------------------------------------------------


async def _write(
    session: AsyncSession,
    stage: str,
    parts: list[tuple[str, list[dict[str, Any]]]],
    progress: Progress | None,
) -> None:
    if progress is not None:
        progress.start(stage, sum(len(rows) for _, rows in parts))
    for table_name, rows in parts:
        table = _table(table_name)
        for start in range(0, len(rows), BATCH_SIZE):
            batch = rows[start : start + BATCH_SIZE]
            await session.execute(insert(table), batch)
            if progress is not None:
                progress.advance(len(batch))


# --- Volume data ----------------------------------------------------------------------------
#
# `generate` plans the whole shop in memory and writes it in one transaction:
# right for a demo, hopeless for a million customers. `generate_volume` draws
# the same kind of shop customer by customer and writes it in chunks of
# `VOLUME_CHUNK` customers (with their tags, deliveries and discounts), one
# transaction and a few multi-row INSERTs per chunk, so memory stays flat and
# a million customers take minutes. The shape is fixed so benchmarks compare
# like with like at every size: two years of customers, exactly three
# discounts each in every state, 200 broadcasts with their deliveries.

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
# Above the range `_Planner._telegram_id` draws cashiers from, so the two never meet.
_VOLUME_TELEGRAM_BASE = 9_000_000_000


def _volume_code(discount_id: int) -> str:
    number = (discount_id * _CODE_STEP + _CODE_SHIFT) % _CODE_SPACE
    characters = []
    for _ in range(CODE_LENGTH):
        number, digit = divmod(number, len(ALPHABET))
        characters.append(ALPHABET[digit])
    return "".join(characters)


@dataclass(frozen=True)
class _VolumeBroadcast:
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
    moment = _moment(customers, now)
    async with sessions() as session, session.begin():
        existing, settings = await _empty_shop(session)
    planner = _VolumePlanner(random.Random(seed), moment, settings, existing)
    fixed = planner.fixed_rows()
    async with sessions() as session, session.begin():
        await _write(session, "setup", fixed, progress)
    totals = dict.fromkeys(("customers", "customer_tags", "broadcast_deliveries", "discounts"), 0)
    async with _indexes_deferred(sessions, progress):
        if progress is not None:
            progress.start("customers", customers)
        for start in range(0, customers, VOLUME_CHUNK):
            parts = planner.chunk(min(VOLUME_CHUNK, customers - start))
            async with sessions() as session, session.begin(), _bulk_session(session):
                for table_name, rows in parts:
                    if rows:
                        await session.execute(insert(_table(table_name)), rows)
                    totals[table_name] += len(rows)
            if progress is not None:
                progress.advance(len(parts[0][1]))
    async with sessions() as session, session.begin():
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
_DEFERRED_TABLES = ("customers", "discounts")
_ANALYZED_TABLES = ("customer_tags", "broadcast_deliveries", "tags")


def _deferrable(table: Table) -> list[tuple[str, list[str], bool]]:
    """(name, columns, unique) of the table's indexes that no foreign key needs.

    Keeping an index per row inserted is what makes a big load slow once the
    indexes outgrow the buffer pool (codes, for one, land at random places);
    built once at the end, by sorting, they cost seconds. Indexes that lead
    with a foreign key column stay: the database needs them for the key.
    """
    foreign = {element.parent.name for element in table.foreign_keys}
    found: list[tuple[str, list[str], bool]] = []
    for index in table.indexes:
        names = [column.name for column in index.columns]
        found.append((str(index.name), names, bool(index.unique)))
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            found.append((str(constraint.name), [c.name for c in constraint.columns], True))
    return [entry for entry in found if entry[1][0] not in foreign]


@asynccontextmanager
async def _indexes_deferred(
    sessions: async_sessionmaker[AsyncSession], progress: Progress | None
) -> AsyncIterator[None]:
    """Drop the big tables' deferrable indexes around the load; rebuild them whatever happens."""
    async with sessions() as session:
        dialect = session.get_bind().dialect.name
    if dialect not in ("mysql", "mariadb"):
        yield
        return
    plans = {name: _deferrable(_table(name)) for name in _DEFERRED_TABLES}
    async with sessions() as session:
        for name, indexes in plans.items():
            drops = ", ".join(f"DROP INDEX `{index}`" for index, _, _ in indexes)
            await session.execute(text(f"ALTER TABLE `{name}` {drops}"))
    try:
        yield
    finally:
        if progress is not None:
            progress.start("indexes", sum(len(indexes) for indexes in plans.values()))
        async with sessions() as session:
            for name, indexes in plans.items():
                adds = ", ".join(
                    f"ADD {'UNIQUE ' if unique else ''}INDEX `{index}` "
                    f"({', '.join(f'`{column}`' for column in columns)})"
                    for index, columns, unique in indexes
                )
                await session.execute(text(f"ALTER TABLE `{name}` {adds}"))
                if progress is not None:
                    progress.advance(len(indexes))
            # Statistics taken while the tables filled mislead the optimizer
            # (a tag with 90,000 members estimated at 1): take them afresh.
            loaded = ", ".join(f"`{name}`" for name in (*_DEFERRED_TABLES, *_ANALYZED_TABLES))
            await session.execute(text(f"ANALYZE TABLE {loaded}"))


@asynccontextmanager
async def _bulk_session(session: AsyncSession) -> AsyncIterator[None]:
    """On MySQL/MariaDB, skip per-row FK and unique checks: the rows are right by construction.

    Session variables live on the connection, and the connection goes back to
    the pool: they are turned back on before it does (a test shares its engine).
    """
    bulk = session.get_bind().dialect.name in ("mysql", "mariadb")
    if bulk:
        await session.execute(text("SET SESSION foreign_key_checks = 0, unique_checks = 0"))
    try:
        yield
    finally:
        if bulk:
            await session.execute(text("SET SESSION foreign_key_checks = 1, unique_checks = 1"))


class _VolumePlanner(_Planner):
    """Draws customers a chunk at a time; ids continue from one chunk to the next."""

    def __init__(
        self, rng: random.Random, now: datetime, settings: _Settings, existing: _Existing
    ) -> None:
        super().__init__(rng, now, settings, existing)
        self.next_customer = existing.next_ids["customers"]
        self.next_delivery = existing.next_ids["broadcast_deliveries"]
        self.next_discount = existing.next_ids["discounts"]
        self.broadcasts: list[_VolumeBroadcast] = []
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
            broadcast = _VolumeBroadcast(first_id + number, started_at, promo)
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
        return f"{SHORT_NAMES.get(first_name, _latin(first_name))}_{self.next_customer}"[:32]

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

    def _deliveries(self, person: _Person) -> list[dict[str, Any]]:
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
        self, person: _Person, received: list[dict[str, Any]]
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
            row["code"] = _volume_code(self.next_discount)
            self.next_discount += 1
        return rows

    def _code(self) -> str:
        return ""  # replaced by `_volume_code` once the id is known
