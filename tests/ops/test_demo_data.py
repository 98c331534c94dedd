"""Demo data: the promised variety, consistent dates, determinism, refusal, progress."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from backend import demo_data
from backend.demo_data import volume
from backend.demo_data.planner import customers as customer_draws
from backend.domain import codes
from backend.domain.errors import Conflict
from backend.domain.models import (
    ActorKind,
    Admin,
    Base,
    Broadcast,
    BroadcastDelivery,
    BroadcastStatus,
    Cashier,
    Customer,
    CustomerStatus,
    DeliveryStatus,
    Discount,
    DiscountKind,
    DiscountStatus,
    Segment,
    Tag,
)
from tests.factories import make_cashier

NOW = demo_data.DEFAULT_NOW
FEMALE_SURNAMES = {female for _, female in demo_data.SURNAMES}
MALE_SURNAMES = {male for male, _ in demo_data.SURNAMES}


async def load_all(sessions: async_sessionmaker[AsyncSession], model: type[Any]) -> list[Any]:
    async with sessions() as session:
        return list(await session.scalars(select(model).order_by(model.id)))


async def row_counts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        counts = {}
        for table in Base.metadata.sorted_tables:
            counts[table.name] = await session.scalar(select(func.count()).select_from(table)) or 0
        return counts


async def empty_database(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(delete(table))


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


async def test_a_small_shop_has_every_kind_of_customer_discount_and_broadcast(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    summary = await demo_data.generate(sessions, customers=300)

    async with sessions() as session:
        query = select(Customer).options(selectinload(Customer.tags)).order_by(Customer.id)
        customers: list[Customer] = list(await session.scalars(query))
    discounts: list[Discount] = await load_all(sessions, Discount)
    cashiers: list[Cashier] = await load_all(sessions, Cashier)
    broadcasts: list[Broadcast] = await load_all(sessions, Broadcast)
    deliveries: list[BroadcastDelivery] = await load_all(sessions, BroadcastDelivery)
    segments: list[Segment] = await load_all(sessions, Segment)
    assert summary == demo_data.DemoSummary(
        customers=300,
        discounts=len(discounts),
        segments=len(segments),
        broadcasts=len(broadcasts),
        deliveries=len(deliveries),
        cashiers=len(cashiers),
        tags=len(demo_data.TAGS),
    )
    assert len(customers) == 300
    assert await load_all(sessions, Admin) == []

    # Customers: every status, believable profiles, dates in order.
    statuses = Counter(customer.status for customer in customers)
    assert set(statuses) == set(CustomerStatus)
    assert statuses[CustomerStatus.ACTIVE] > statuses[CustomerStatus.UNSUBSCRIBED]
    assert statuses[CustomerStatus.UNSUBSCRIBED] > statuses[CustomerStatus.BLOCKED]
    today = NOW.astimezone(demo_data.ZONE).date()
    usernames = [customer.username for customer in customers if customer.username]
    assert len(usernames) == len(set(usernames)) > 50
    assert len({customer.telegram_id for customer in customers}) == 300
    for customer in customers:
        if customer.first_name in demo_data.FEMALE_NAMES:
            assert customer.last_name is None or customer.last_name in FEMALE_SURNAMES
        else:
            assert customer.first_name in demo_data.MALE_NAMES
            assert customer.last_name is None or customer.last_name in MALE_SURNAMES
        if customer.username:
            assert re.fullmatch(r"[a-z][a-z0-9_]{4,31}", customer.username)
        if customer.phone:
            assert re.fullmatch(r"\+79\d{9}", customer.phone)
        if customer.birthday:
            assert 16 <= age_on(customer.birthday, today) <= 70
            assert (customer.birth_month, customer.birth_day) == (
                customer.birthday.month,
                customer.birthday.day,
            )
        assert NOW - timedelta(days=550) <= customer.created_at <= customer.last_seen_at <= NOW
        assert customer.subscribed_at is not None
        assert customer.created_at <= customer.subscribed_at <= NOW
        if customer.status is CustomerStatus.ACTIVE:
            assert customer.marketing_consent_at is not None
            assert customer.unsubscribed_at is None
        else:
            assert customer.unsubscribed_at is not None
            assert customer.subscribed_at <= customer.unsubscribed_at <= NOW
        if customer.status is CustomerStatus.UNSUBSCRIBED:
            assert customer.marketing_consent_at is None
    born = [customer.birthday for customer in customers if customer.birthday]
    assert 0.55 < len(born) / 300 < 0.85
    assert sum(1 for day in born if (day.month, day.day) == (2, 29)) >= 2
    assert sum(1 for customer in customers if customer.language == "ru") > 240
    assert {customer.source for customer in customers} == set(demo_data.SOURCES)
    assert any(customer.note for customer in customers)
    tag_counts = Counter(len(customer.tags) for customer in customers)
    assert set(tag_counts) == {0, 1, 2, 3}
    assert {name for customer in customers for name in customer.tag_names} == set(demo_data.TAGS)

    # Cashiers: joined and active, in two stores.
    assert 3 <= len(cashiers) <= 4
    assert len({cashier.store for cashier in cashiers}) == 2
    assert all(
        cashier.is_active and cashier.joined_at and cashier.telegram_id for cashier in cashiers
    )
    store_of = {cashier.id: cashier.store for cashier in cashiers}
    joined_at = {cashier.id: cashier.joined_at or NOW for cashier in cashiers}

    # Discounts: every kind in every state, with dates that agree with the state.
    assert {discount.kind for discount in discounts} == set(DiscountKind)
    assert {discount.status for discount in discounts} == set(DiscountStatus)
    redeemed_kinds = {d.kind for d in discounts if d.status is DiscountStatus.REDEEMED}
    assert redeemed_kinds == set(DiscountKind)
    all_codes = [discount.code for discount in discounts]
    assert len(all_codes) == len(set(all_codes))
    for code in all_codes:
        assert len(code) == codes.CODE_LENGTH == 8
        assert set(code) <= set(codes.ALPHABET)
    subscriptions = Counter(
        discount.customer_id for discount in discounts if discount.kind is DiscountKind.SUBSCRIPTION
    )
    assert max(subscriptions.values()) == 1
    assert len(subscriptions) > 0.8 * 300
    customer_ids = {customer.id for customer in customers}
    broadcast_by_id = {broadcast.id: broadcast for broadcast in broadcasts}
    for discount in discounts:
        assert discount.customer_id in customer_ids
        assert 5 <= discount.percent <= 20
        assert discount.issued_at < discount.expires_at
        assert discount.issued_at <= NOW
        if discount.kind is DiscountKind.SUBSCRIPTION:
            assert discount.once_key == "subscription"
        elif discount.kind is DiscountKind.BIRTHDAY:
            assert discount.once_key is not None
            assert re.fullmatch(r"birthday:20\d\d", discount.once_key)
        if discount.kind is DiscountKind.MANUAL:
            assert discount.issued_by_kind is ActorKind.ADMIN
            assert discount.reason
        else:
            assert discount.issued_by_kind is ActorKind.SYSTEM
        assert discount.issued_by_admin_id is None
        if discount.kind is DiscountKind.PROMO:
            assert discount.broadcast_id is not None
            assert broadcast_by_id[discount.broadcast_id].promo_percent == discount.percent
        else:
            assert discount.broadcast_id is None

        if discount.status is DiscountStatus.ACTIVE:
            assert discount.expires_at > NOW
            assert discount.redeemed_at is None and discount.cancelled_at is None
        elif discount.status is DiscountStatus.EXPIRED:
            assert discount.expires_at <= NOW
            assert discount.redeemed_at is None and discount.cancelled_at is None
        elif discount.status is DiscountStatus.REDEEMED:
            assert discount.redeemed_at is not None and discount.cashier_id is not None
            assert discount.issued_at <= discount.redeemed_at <= discount.expires_at
            assert discount.redeemed_at <= NOW
            assert discount.store == store_of[discount.cashier_id]
            assert joined_at[discount.cashier_id] <= discount.redeemed_at
            assert discount.purchase_amount is not None and discount.purchase_amount > 0
        else:
            assert discount.cancelled_at is not None
            assert discount.issued_at <= discount.cancelled_at <= min(discount.expires_at, NOW)
        if discount.status is not DiscountStatus.REDEEMED:
            assert discount.cashier_id is None and discount.purchase_amount is None
    birthday_keys = Counter(
        (discount.customer_id, discount.once_key)
        for discount in discounts
        if discount.kind is DiscountKind.BIRTHDAY
    )
    assert max(birthday_keys.values()) == 1

    # Segments: valid rules that find somebody.
    from backend.domain.segments import count_members, parse_rules

    assert 4 <= len(segments) <= 5
    async with sessions() as session:
        for segment in segments:
            rules = parse_rules(segment.rules)
            assert await count_members(session, rules, now=NOW) > 0, segment.name

    # Broadcasts: past, finished, one delivery per recipient who could receive it.
    assert 3 <= len(broadcasts) <= 4
    assert Counter(broadcast.status for broadcast in broadcasts) == {
        BroadcastStatus.COMPLETED: len(broadcasts) - 1,
        BroadcastStatus.CANCELLED: 1,
    }
    assert sum(1 for broadcast in broadcasts if broadcast.promo_percent) == 1
    customer_by_id = {customer.id: customer for customer in customers}
    for broadcast in broadcasts:
        assert broadcast.started_at and broadcast.finished_at
        assert broadcast.created_at <= broadcast.started_at < broadcast.finished_at < NOW
        assert broadcast.rules_snapshot is not None
        parse_rules(broadcast.rules_snapshot)
    pairs = [(delivery.broadcast_id, delivery.customer_id) for delivery in deliveries]
    assert len(pairs) == len(set(pairs))
    delivery_statuses = Counter(delivery.status for delivery in deliveries)
    assert (
        delivery_statuses[DeliveryStatus.SENT]
        > 0.8 * len(deliveries) - (delivery_statuses[DeliveryStatus.PENDING])
    )
    assert delivery_statuses[DeliveryStatus.FAILED] > 0
    assert delivery_statuses[DeliveryStatus.BLOCKED] > 0
    for delivery in deliveries:
        customer = customer_by_id[delivery.customer_id]
        broadcast = broadcast_by_id[delivery.broadcast_id]
        assert customer.subscribed_at is not None and broadcast.started_at is not None
        assert customer.subscribed_at <= broadcast.started_at
        if delivery.status is DeliveryStatus.SENT:
            assert delivery.sent_at is not None and delivery.telegram_message_id is not None
            assert broadcast.started_at <= delivery.sent_at <= (broadcast.finished_at or NOW)
        else:
            assert delivery.sent_at is None
        if delivery.status is DeliveryStatus.BLOCKED:
            assert customer.status is CustomerStatus.BLOCKED
            assert customer.unsubscribed_at is not None
            assert customer.unsubscribed_at >= broadcast.started_at
        if delivery.status is DeliveryStatus.PENDING:
            assert broadcast.status is BroadcastStatus.CANCELLED
    promo_sent = {
        delivery.customer_id
        for delivery in deliveries
        if delivery.status is DeliveryStatus.SENT
        and broadcast_by_id[delivery.broadcast_id].promo_percent
    }
    promo_holders = [
        discount.customer_id for discount in discounts if discount.kind is DiscountKind.PROMO
    ]
    assert sorted(promo_holders) == sorted(promo_sent)


async def fingerprint(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[Any]]:
    async with sessions() as session:
        customer_rows = await session.execute(
            select(
                Customer.id,
                Customer.telegram_id,
                Customer.first_name,
                Customer.last_name,
                Customer.username,
                Customer.birthday,
                Customer.status,
                Customer.created_at,
                Customer.last_seen_at,
            ).order_by(Customer.id)
        )
        discount_rows = await session.execute(
            select(
                Discount.id,
                Discount.customer_id,
                Discount.code,
                Discount.kind,
                Discount.status,
                Discount.issued_at,
                Discount.redeemed_at,
                Discount.purchase_amount,
            ).order_by(Discount.id)
        )
        delivery_rows = await session.execute(
            select(
                BroadcastDelivery.broadcast_id,
                BroadcastDelivery.customer_id,
                BroadcastDelivery.status,
                BroadcastDelivery.sent_at,
            ).order_by(BroadcastDelivery.id)
        )
        segment_rows = await session.execute(
            select(Segment.name, Segment.rules).order_by(Segment.id)
        )
        return {
            "customers": [tuple(row) for row in customer_rows],
            "discounts": [tuple(row) for row in discount_rows],
            "deliveries": [tuple(row) for row in delivery_rows],
            "segments": [tuple(row) for row in segment_rows],
        }


async def test_the_same_seed_gives_the_same_shop(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await demo_data.generate(sessions, customers=150, seed=7)
    first = await fingerprint(sessions)
    await empty_database(engine)

    await demo_data.generate(sessions, customers=150, seed=7)
    second = await fingerprint(sessions)
    await empty_database(engine)

    await demo_data.generate(sessions, customers=150, seed=8)
    other = await fingerprint(sessions)

    assert len(first["customers"]) == 150
    assert first == second
    assert other["customers"] != first["customers"]
    assert other["discounts"] != first["discounts"]


async def test_a_database_with_customers_is_refused_and_left_alone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        assert not await demo_data.has_data(session)
    await demo_data.generate(sessions, customers=40)
    before = await row_counts(sessions)
    async with sessions() as session:
        assert await demo_data.has_data(session)

    with pytest.raises(Conflict, match="already has customers"):
        await demo_data.generate(sessions, customers=40, seed=99)

    assert await row_counts(sessions) == before
    assert before["customers"] == 40


async def test_bad_arguments_are_refused_before_touching_the_database(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with pytest.raises(ValueError, match="aware"):
        await demo_data.generate(sessions, customers=10, now=datetime(2026, 11, 20, 12, 0))
    with pytest.raises(ValueError, match="negative"):
        await demo_data.generate(sessions, customers=-1)
    assert set((await row_counts(sessions)).values()) == {0}


async def test_rows_that_predate_the_demo_are_kept_and_reused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """An owner may have set up cashiers, tags and segments before any customer came."""
    async with sessions() as session, session.begin():
        cashier = await make_cashier(session, name="Ирина", store="Светланская, 33")
        session.add(Tag(name="vip"))
        session.add(Segment(name="VIP", rules={"tags_any": ["vip"]}))

    summary = await demo_data.generate(sessions, customers=60)

    tags: list[Tag] = await load_all(sessions, Tag)
    assert sorted(tag.name for tag in tags) == sorted(demo_data.TAGS)
    assert summary.tags == len(demo_data.TAGS) - 1
    segment_names = [segment.name for segment in await load_all(sessions, Segment)]
    assert segment_names[0] == "VIP"
    assert "VIP (демо)" in segment_names
    cashiers: list[Cashier] = await load_all(sessions, Cashier)
    assert cashiers[0].id == cashier.id and cashiers[0].name == "Ирина"
    assert len(cashiers) == 1 + summary.cashiers


@dataclass
class RecordingProgress:
    stages: list[tuple[str, int]] = field(default_factory=list)
    advanced: dict[str, int] = field(default_factory=dict)

    def start(self, stage: str, total: int) -> None:
        assert stage not in self.advanced, f"stage {stage} started twice"
        self.stages.append((stage, total))
        self.advanced[stage] = 0

    def advance(self, amount: int) -> None:
        assert self.stages, "advance before any stage started"
        stage, total = self.stages[-1]
        assert amount > 0
        self.advanced[stage] += amount
        assert self.advanced[stage] <= total


async def test_progress_is_reported_per_stage_and_adds_up(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    progress = RecordingProgress()

    summary = await demo_data.generate(sessions, customers=120, progress=progress)

    totals = dict(progress.stages)
    assert [stage for stage, _ in progress.stages] == [
        "customers",
        "tags",
        "cashiers",
        "segments",
        "broadcasts",
        "deliveries",
        "discounts",
    ]
    assert progress.advanced == totals
    assert totals["customers"] == summary.customers == 120
    assert totals["discounts"] == summary.discounts
    assert totals["deliveries"] == summary.deliveries
    assert totals["broadcasts"] == summary.broadcasts
    assert totals["segments"] == summary.segments
    assert totals["cashiers"] == summary.cashiers
    async with sessions() as session:
        links = await session.scalar(
            select(func.count()).select_from(Base.metadata.tables["customer_tags"])
        )
    assert totals["tags"] == summary.tags + (links or 0)


async def test_customers_arriving_in_the_same_second_get_ids_in_arrival_order(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crowded shop: many registrations share a second, which must not upset the order."""
    monkeypatch.setattr(customer_draws, "HISTORY", timedelta(minutes=15))

    await demo_data.generate(sessions, customers=400)

    async with sessions() as session:
        query = select(Customer).options(selectinload(Customer.tags)).order_by(Customer.id)
        customers: list[Customer] = list(await session.scalars(query))
    arrivals = [customer.created_at for customer in customers]
    assert len(set(arrivals)) < len(arrivals)
    assert arrivals == sorted(arrivals)


# --- Volume data (benchmarks, `dvorik demo-data --customers 1000000`) -----------------------


def index_names(connection: Any, table: str) -> set[str]:
    inspector = inspect(connection)
    names = {index["name"] for index in inspector.get_indexes(table)}
    names |= {unique["name"] for unique in inspector.get_unique_constraints(table)}
    return {name for name in names if name}


async def test_volume_data_has_the_benchmark_shape_in_chunks(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three discounts per customer in every state, 200 broadcasts, two years, chunk by chunk."""
    monkeypatch.setattr(volume, "VOLUME_CHUNK", 70)  # several chunks even for a small shop
    async with engine.connect() as connection:
        indexes_before = {
            table: await connection.run_sync(index_names, table)
            for table in ("customers", "discounts")
        }
    progress = RecordingProgress()

    summary = await demo_data.generate_volume(sessions, customers=400, progress=progress)

    assert [stage for stage, _ in progress.stages][:2] == ["setup", "customers"]
    assert progress.advanced["customers"] == 400
    assert (summary.customers, summary.discounts, summary.broadcasts) == (400, 1200, 200)
    customers = await load_all(sessions, Customer)
    discounts = await load_all(sessions, Discount)
    broadcasts = {row.id: row for row in await load_all(sessions, Broadcast)}
    deliveries = await load_all(sessions, BroadcastDelivery)
    assert len(customers) == 400 and len(discounts) == 1200 and len(broadcasts) == 200
    assert len(deliveries) == summary.deliveries > 200
    assert Counter(row.customer_id for row in discounts) == dict.fromkeys(
        (row.id for row in customers), 3
    )
    assert {row.status for row in discounts} == set(DiscountStatus)
    assert {row.kind for row in discounts} == set(DiscountKind)
    assert {row.status for row in customers} == set(CustomerStatus)
    assert len({row.code for row in discounts}) == 1200
    assert all(codes.normalize_code(row.code) == row.code for row in discounts)
    assert len({row.telegram_id for row in customers}) == 400
    # Spread over two years, as the benchmarks' windows expect.
    created = sorted(row.created_at for row in customers)
    assert created[-1] <= NOW and NOW - created[0] > timedelta(days=365)
    assert NOW - min(row.started_at for row in broadcasts.values()) > timedelta(days=700)
    # Dates stay consistent: what happened to a discount happened by `now`, in its lifetime.
    for row in discounts:
        assert row.issued_at <= NOW and row.issued_at < row.expires_at
        if row.status is DiscountStatus.REDEEMED:
            assert row.redeemed_at is not None and row.issued_at <= row.redeemed_at <= NOW
            assert row.cashier_id is not None and row.purchase_amount is not None
        if row.status is DiscountStatus.ACTIVE:
            assert row.expires_at > NOW
        if row.status is DiscountStatus.EXPIRED:
            assert row.expires_at <= NOW
        if row.kind is DiscountKind.PROMO:
            assert row.broadcast_id in broadcasts
    # A delivery went out while its customer was subscribed.
    people = {row.id: row for row in customers}
    for delivery in deliveries:
        person, broadcast = people[delivery.customer_id], broadcasts[delivery.broadcast_id]
        assert person.subscribed_at is not None
        assert person.subscribed_at <= broadcast.started_at
    # Indexes dropped for the load (MariaDB) are all back.
    async with engine.connect() as connection:
        for table, names in indexes_before.items():
            assert await connection.run_sync(index_names, table) == names


async def test_volume_data_goes_only_into_an_empty_database(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await demo_data.generate_volume(sessions, customers=30)

    with pytest.raises(Conflict):
        await demo_data.generate_volume(sessions, customers=30)
    assert (await row_counts(sessions))["customers"] == 30


async def test_volume_data_leaves_every_pooled_connection_checking_foreign_keys(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The load turns per-row key checks off on its connections; they go back to the pool.

    The pool hands its connections out in turn (FIFO), so ten checkouts see them all.
    """
    await demo_data.generate_volume(sessions, customers=30)
    checks = []
    for _ in range(10):
        async with sessions() as session:
            query = {"sqlite": "PRAGMA foreign_keys"}.get(
                session.get_bind().dialect.name, "SELECT @@SESSION.foreign_key_checks"
            )
            checks.append(await session.scalar(text(query)))
    assert checks == [1] * 10
