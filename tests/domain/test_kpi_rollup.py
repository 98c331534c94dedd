"""The KPI rollup: a report from stored days is the live report, however the shop lives on.

A shop lives for six weeks through the domain services (customers arrive,
discounts are issued, redeemed, cancelled, customers leave and come back), each
event at its own `now`. The rollup-backed report is compared with `kpi_live`,
which counts the rows alone, before anything is stored, after the closed days
are stored, and again after more days of life: redemptions today of discounts
issued weeks ago, status changes, a deleted cashier must all show up without a
stored day changing.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import customers, discounts
from backend.domain.audit import Actor
from backend.domain.errors import DomainError
from backend.domain.kpi import Granularity, KpiReport, kpi, kpi_live
from backend.domain.kpi import rollup as kpi_rollup
from backend.domain.kpi.days import offset_minutes
from backend.domain.models import (
    Broadcast,
    BroadcastDelivery,
    Cashier,
    CustomerStatus,
    DeliveryStatus,
    Discount,
    DiscountKind,
    KpiConversion,
    KpiCustomerDay,
    KpiDiscountDay,
)
from tests.factories import make_cashier, make_customer

VVO = ZoneInfo("Asia/Vladivostok")
# 13:00 on Thursday 20 March 2025 in Vladivostok.
NOW = datetime(2025, 3, 20, 3, 0, tzinfo=UTC)
HISTORY = timedelta(days=42)
SYSTEM = Actor.system("test")


@dataclass
class Shop:
    """What the simulated shop has, for drawing the next event."""

    rng: random.Random
    cashiers: list[Cashier]
    broadcasts: list[Broadcast]
    customer_ids: list[int] = field(default_factory=list)
    open_codes: list[tuple[str, datetime]] = field(default_factory=list)  # code, expires_at


async def open_shop(session: AsyncSession, seed: int) -> Shop:
    cashiers = [
        await make_cashier(session, name="Ольга", store="Светланская"),
        await make_cashier(session, name="Иван", store="Алеутская"),
        await make_cashier(session, name="Пётр", store="Алеутская"),
    ]
    broadcasts = []
    for title in ("Весна", "Скидки недели"):
        broadcast = Broadcast(title=title, text="Скидка для вас!", promo_percent=15)
        session.add(broadcast)
        broadcasts.append(broadcast)
    await session.flush()
    return Shop(random.Random(seed), cashiers, broadcasts)


async def live(session: AsyncSession, shop: Shop, since: datetime, until: datetime) -> None:
    """Events at random moments of since..until, each through the services at its own now."""
    rng = shop.rng
    seconds = int((until - since).total_seconds())
    moments = sorted(
        since + timedelta(seconds=rng.randrange(seconds)) for _ in range(seconds // 9000)
    )
    for moment in moments:
        await _event(session, shop, moment)
    await discounts.expire_due(session, now=until)
    await session.commit()


async def _event(session: AsyncSession, shop: Shop, now: datetime) -> None:
    rng = shop.rng
    roll = rng.random()
    if roll < 0.25 or not shop.customer_ids:
        status = rng.choices(list(CustomerStatus), (8, 1, 1))[0]
        customer = await make_customer(session, status=status, created_at=now)
        shop.customer_ids.append(customer.id)
        await _issue(
            session, shop, customer.id, discounts.IssueRequest(DiscountKind.SUBSCRIPTION), now
        )
    elif roll < 0.55:
        kind = rng.choice([DiscountKind.BIRTHDAY, DiscountKind.MANUAL, DiscountKind.PROMO])
        broadcast = rng.choice([*shop.broadcasts, None]) if kind is DiscountKind.PROMO else None
        request = discounts.IssueRequest(
            kind,
            valid_days=rng.randrange(2, 20),
            reason="подарок" if kind is DiscountKind.MANUAL else None,
            broadcast_id=broadcast.id if broadcast else None,
        )
        await _issue(session, shop, rng.choice(shop.customer_ids), request, now)
    elif roll < 0.85 and shop.open_codes:
        code, expires_at = shop.open_codes.pop(rng.randrange(len(shop.open_codes)))
        cashier = rng.choice(shop.cashiers)
        amount = Decimal(rng.randrange(100, 5000)) if rng.random() < 0.8 else None
        if expires_at > now and cashier.is_active:
            await discounts.redeem(session, code, cashier, now=now, purchase_amount=amount)
    elif roll < 0.9 and shop.open_codes:
        code, _ = shop.open_codes.pop(rng.randrange(len(shop.open_codes)))
        discount = await discounts.find_by_code(session, code)
        with contextlib.suppress(DomainError):  # expired meanwhile
            await discounts.cancel(session, discount.id, actor=SYSTEM, now=now, reason=None)
    else:
        change = rng.choice(
            [customers.unsubscribe, customers.mark_blocked, customers.mark_unblocked]
        )
        await change(session, rng.choice(shop.customer_ids), now=now)


async def _issue(
    session: AsyncSession,
    shop: Shop,
    customer_id: int,
    request: discounts.IssueRequest,
    now: datetime,
) -> None:
    discount = await discounts.issue(session, customer_id, request, actor=SYSTEM, now=now)
    shop.open_codes.append((discount.code, discount.expires_at))


def windows(today: date) -> list[tuple[date, date, Granularity]]:
    """Periods a dashboard asks for: ending today, in the past, reaching into the future."""
    return [
        (today - timedelta(days=89), today, Granularity.DAY),
        (today - timedelta(days=13), today, Granularity.DAY),
        (today - timedelta(days=20), today + timedelta(days=5), Granularity.WEEK),
        (today - timedelta(days=30), today - timedelta(days=10), Granularity.DAY),
        (today - timedelta(days=200), today - timedelta(days=1), Granularity.MONTH),
        (today - timedelta(days=3), today - timedelta(days=3), Granularity.DAY),
        (today, today, Granularity.DAY),
        (today + timedelta(days=1), today + timedelta(days=7), Granularity.DAY),
    ]


async def assert_same_as_live(session: AsyncSession, now: datetime, zone: ZoneInfo = VVO) -> None:
    today = now.astimezone(zone).date()
    for start, end, granularity in windows(today):
        args = {"start": start, "end": end, "granularity": granularity, "zone": zone, "now": now}
        expected: KpiReport = await kpi_live(session, **args)  # type: ignore[arg-type]
        actual: KpiReport = await kpi(session, **args)  # type: ignore[arg-type]
        assert actual == expected, (start, end, granularity)


async def remember(session: AsyncSession, now: datetime, zone: ZoneInfo = VVO) -> int:
    start = now.astimezone(zone).date() - timedelta(days=200)
    stored = await kpi_rollup.remember(session, zone=zone, start=start, now=now)
    await session.commit()
    return stored


async def stored_days(session: AsyncSession, zone: ZoneInfo = VVO) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(KpiDiscountDay).where(KpiDiscountDay.zone == zone.key)
        )
        or 0
    )


@pytest.mark.parametrize("seed", [1, 2])
async def test_the_rollup_report_is_the_live_report_as_the_shop_lives_on(
    session: AsyncSession, seed: int
) -> None:
    shop = await open_shop(session, seed)
    await live(session, shop, NOW - HISTORY, NOW)
    session.add_all(
        BroadcastDelivery(
            broadcast_id=shop.broadcasts[0].id, customer_id=customer_id, status=status
        )
        for customer_id, status in zip(
            shop.customer_ids, [DeliveryStatus.SENT, DeliveryStatus.FAILED] * 5, strict=False
        )
    )
    await session.commit()

    # Nothing stored yet: every day is counted live.
    await assert_same_as_live(session, NOW)
    stored = await remember(session, NOW)
    assert await stored_days(session) == 200
    customer_days = await session.scalar(select(func.count()).select_from(KpiCustomerDay))
    assert customer_days in (HISTORY.days - 1, HISTORY.days)  # the first customer's day on
    assert stored == 200 + customer_days
    assert await session.scalar(select(func.count()).select_from(KpiConversion))
    await assert_same_as_live(session, NOW)
    assert await remember(session, NOW) == 0

    # Later the same day: old discounts redeemed, statuses changed, a cashier deleted.
    later = NOW + timedelta(hours=6)
    await live(session, shop, NOW, later)
    gone = shop.cashiers.pop()
    # What ON DELETE SET NULL does, spelled out: a pooled MariaDB connection may come
    # with foreign_key_checks off (demo_data.generate_volume in another test).
    await session.execute(
        update(Discount).where(Discount.cashier_id == gone.id).values(cashier_id=None)
    )
    await session.execute(delete(Cashier).where(Cashier.id == gone.id))
    await session.commit()
    await assert_same_as_live(session, later)

    # Three days on: the closed days are stored as they come, or not at all.
    for day in range(1, 4):
        moment = later + timedelta(days=day)
        await live(session, shop, moment - timedelta(days=1), moment)
        await assert_same_as_live(session, moment)
        if day != 2:
            assert await remember(session, moment) > 0
            await assert_same_as_live(session, moment)


async def test_a_stored_day_changed_behind_its_back_is_stale_until_forgotten(
    session: AsyncSession,
) -> None:
    shop = await open_shop(session, 3)
    await live(session, shop, NOW - HISTORY, NOW)
    await remember(session, NOW)
    today = NOW.astimezone(VVO).date()
    start, end = today - timedelta(days=13), today
    before = await kpi(
        session, start=start, end=end, granularity=Granularity.DAY, zone=VVO, now=NOW
    )

    # A generator writes a customer and a discount dated a week ago, as demo data does.
    week_ago = NOW - timedelta(days=7)
    customer = await make_customer(session, created_at=week_ago)
    request = discounts.IssueRequest(DiscountKind.BIRTHDAY)
    await discounts.issue(session, customer.id, request, actor=SYSTEM, now=week_ago)
    await session.commit()
    stale = await kpi(session, start=start, end=end, granularity=Granularity.DAY, zone=VVO, now=NOW)
    assert stale == before  # the stored days still say what they said

    await kpi_rollup.forget(session, since=week_ago.astimezone(VVO).date())
    await session.commit()
    await assert_same_as_live(session, NOW)
    fresh = await kpi(session, start=start, end=end, granularity=Granularity.DAY, zone=VVO, now=NOW)
    assert fresh.customers.new == before.customers.new + 1
    assert fresh.discounts.overall.issued == before.discounts.overall.issued + 1
    assert await remember(session, NOW) == 8 + 8  # a day either side of `since`, to yesterday

    await kpi_rollup.forget(session)
    await session.commit()
    assert await stored_days(session) == 0
    assert await session.scalar(select(func.count()).select_from(KpiCustomerDay)) == 0


async def test_each_business_zone_has_its_own_rollup(session: AsyncSession) -> None:
    shop = await open_shop(session, 4)
    await live(session, shop, NOW - HISTORY, NOW)
    tokyo = ZoneInfo("Asia/Tokyo")
    await remember(session, NOW)
    await remember(session, NOW, tokyo)

    assert await stored_days(session, tokyo) == await stored_days(session, VVO) == 200
    await assert_same_as_live(session, NOW)
    await assert_same_as_live(session, NOW, tokyo)


async def test_a_zone_with_summer_time_is_counted_live(session: AsyncSession) -> None:
    shop = await open_shop(session, 5)
    await live(session, shop, NOW - HISTORY, NOW)
    berlin = ZoneInfo("Europe/Berlin")

    assert await remember(session, NOW, berlin) == 0
    assert await stored_days(session, berlin) == 0
    await assert_same_as_live(session, NOW, berlin)


def test_offsets_are_fixed_only_without_a_change_in_the_period() -> None:
    assert offset_minutes(VVO, date(2015, 1, 1), date(2026, 12, 31)) == 600
    # Vladivostok moved from UTC+11 to UTC+10 in October 2014.
    assert offset_minutes(VVO, date(2014, 1, 1), date(2015, 1, 1)) is None
    assert offset_minutes(ZoneInfo("Europe/Berlin"), date(2025, 1, 1), date(2025, 2, 1)) is None
    assert offset_minutes(ZoneInfo("UTC"), date(1990, 1, 1), date(2030, 1, 1)) == 0


async def test_a_day_is_stored_only_once_it_has_settled(session: AsyncSession) -> None:
    """Just after midnight yesterday stays live: a write begun before midnight may still commit."""
    shop = await open_shop(session, 6)
    await live(session, shop, NOW - HISTORY, NOW)
    midnight = datetime(2025, 3, 20, 14, 0, tzinfo=UTC)  # 21 March 00:00 in Vladivostok
    just_after = midnight + timedelta(minutes=5)
    await remember(session, just_after)
    assert await stored_days(session) == 200 - 1  # 20 March is not stored yet

    late = await make_customer(session, created_at=midnight - timedelta(seconds=1))
    await discounts.issue(
        session,
        late.id,
        discounts.IssueRequest(DiscountKind.SUBSCRIPTION),
        actor=SYSTEM,
        now=midnight - timedelta(seconds=1),
    )
    await session.commit()
    await assert_same_as_live(session, just_after)
    settled = midnight + kpi_rollup.SETTLE
    assert await remember(session, settled) == 2  # 20 March, for customers and discounts
    await assert_same_as_live(session, settled)


async def test_two_reports_filling_the_same_days_store_them_once(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    shop = await open_shop(session, 7)  # (on SQLite the second waits for the first's lock)
    await live(session, shop, NOW - HISTORY, NOW)
    start = NOW.astimezone(VVO).date() - timedelta(days=200)

    async def fill() -> int:
        async with sessions() as writer, writer.begin():
            return await kpi_rollup.remember(writer, zone=VVO, start=start, now=NOW)

    stored = await asyncio.gather(fill(), fill())

    customer_days = await session.scalar(select(func.count()).select_from(KpiCustomerDay))
    assert sum(stored) == 200 + (customer_days or 0)
    assert await stored_days(session) == 200
    await assert_same_as_live(session, NOW)
