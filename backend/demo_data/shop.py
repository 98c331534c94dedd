"""The demo shop itself: its zone and hours, stores, cashiers, saved segments, past broadcasts.

Fixed specifications the planner turns into rows; only the moments are
drawn (around `DEFAULT_NOW` or the `now` a generator is given).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from backend.domain.models import ParseMode

DEFAULT_SEED = 20261125
DEFAULT_NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 12:00 in Vladivostok
ZONE = ZoneInfo("Asia/Vladivostok")
OPENING_HOUR, CLOSING_HOUR = 10, 21
STORES = ("Светланская, 33", "Алеутская, 17")


@dataclass(frozen=True)
class CashierSpec:
    name: str
    store: str
    joined_days_ago: int


CASHIERS = (
    CashierSpec("Ольга Смирнова", STORES[0], 610),
    CashierSpec("Марина Ким", STORES[0], 590),
    CashierSpec("Дарья Волкова", STORES[1], 600),
    CashierSpec("Екатерина Пак", STORES[1], 150),
)


@dataclass(frozen=True)
class SegmentSpec:
    name: str
    description: str
    rules: dict[str, Any]
    created_days_ago: int
    updated_days_ago: int


def _midnight_days_ago(now: datetime, days: int) -> str:
    """Midnight in the shop's zone `days` before `now`, as a marketer would pick it."""
    day = now.astimezone(ZONE).date() - timedelta(days=days)
    return datetime.combine(day, time(0, 0), ZONE).astimezone(UTC).isoformat()


def segment_specs(now: datetime) -> tuple[SegmentSpec, ...]:
    return (
        SegmentSpec(
            "Сладкоежки",
            "Любят мармелад и шоколад и получают рассылки",
            {"tags_any": ["сладкоежка", "мармелад", "шоколад"], "status": ["active"]},
            70,
            65,
        ),
        SegmentSpec(
            "Именинники декабря",
            "Подписчики, у которых день рождения в декабре",
            {"birthday_month": 12, "status": ["active"]},
            40,
            40,
        ),
        SegmentSpec(
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
        SegmentSpec("VIP", "Особые покупатели", {"tags_any": ["vip"]}, 300, 300),
        SegmentSpec(
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
class BroadcastSpec:
    title: str
    text: str
    parse_mode: ParseMode
    days_ago: int
    local_hour: int
    segment: str | None = None  # name of a segment, None for every subscriber
    promo_percent: int | None = None
    cancelled_after: float | None = None  # share of the audience reached before cancelling


BROADCASTS = (
    BroadcastSpec(
        "Новинки: жевательный мармелад",
        "В «Мармеладном Дворике» новинки! Жевательный мармелад с натуральными соками: "
        "манго, маракуйя и юдзу. Приходите попробовать — на Светланской и Алеутской.",
        ParseMode.PLAIN,
        118,
        11,
    ),
    BroadcastSpec(
        "Шоколадная неделя",
        "<b>Шоколадная неделя</b> в «Мармеладном Дворике»: бельгийский шоколад на развес, "
        "трюфели ручной работы и горячий шоколад с собой. Ждём вас!",
        ParseMode.HTML,
        46,
        18,
        segment="Сладкоежки",
    ),
    BroadcastSpec(
        "Осенняя дегустация",
        "Приглашаем на дегустацию осенней коллекции в субботу с 12:00 до 16:00!",
        ParseMode.PLAIN,
        19,
        12,
        cancelled_after=0.35,
    ),
    BroadcastSpec(
        "Скидка 15% к выходным",
        "Только для подписчиков: скидка 15% на всё к выходным! "
        "Покажите код из следующего сообщения на кассе. Действует неделю.",
        ParseMode.PLAIN,
        3,
        11,
        promo_percent=15,
    ),
)
