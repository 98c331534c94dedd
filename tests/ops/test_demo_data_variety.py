"""Demo data has the promised variety: every kind of customer, discount and broadcast.

A small shop's rows are checked for consistent dates and names (surnames agree
with the first name's gender, ages are plausible), and for links between
broadcasts, deliveries and promo codes.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from backend import demo_data
from backend.domain import codes
from backend.domain.models import (
    ActorKind,
    Admin,
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
)
from tests.demo_data_checks import NOW, load_all

FEMALE_SURNAMES = {female for _, female in demo_data.SURNAMES}
MALE_SURNAMES = {male for male, _ in demo_data.SURNAMES}


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
