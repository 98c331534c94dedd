"""Marketers define segments; the SQL audience and the one-customer check always agree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import segments
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.errors import Conflict, InvalidSegmentRules, NotFound
from backend.domain.models import (
    AdminRole,
    AuditEntry,
    Customer,
    CustomerStatus,
    DiscountStatus,
    Segment,
)
from tests.factories import make_admin, make_customer, make_discount

NOW = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)
VLADIVOSTOK = timezone(timedelta(hours=10))
TAGS = ["сладкоежка", "опт", "vip", "дети"]
SOURCES = ["vk", "instagram", "витрина"]
# Customers and rules draw their moments from the same few points, so rule
# bounds land exactly on customers' values and inclusive/exclusive edges are
# exercised; one point has microseconds, which both databases must keep.
MOMENTS = [
    NOW - timedelta(days=60),
    NOW - timedelta(days=30),
    NOW - timedelta(days=7, microseconds=250_001),
    NOW - timedelta(hours=1),
]

# How each kind of discount is issued: (status, issued days before NOW, valid days).
DISCOUNT_KINDS = {
    "active": (DiscountStatus.ACTIVE, 1, 30),
    "active_past_expiry": (DiscountStatus.ACTIVE, 40, 30),
    "expiring_right_now": (DiscountStatus.ACTIVE, 30, 30),
    "redeemed": (DiscountStatus.REDEEMED, 10, 30),
    "cancelled": (DiscountStatus.CANCELLED, 5, 30),
}


@dataclass(frozen=True)
class Person:
    """A customer to insert, described so the expected answer needs no database."""

    status: CustomerStatus
    tags: frozenset[str]
    subscribed_at: datetime | None
    last_seen_at: datetime
    birth_month: int | None
    source: str | None
    discounts: tuple[str, ...]

    def facts(self) -> segments.CustomerFacts:
        return segments.CustomerFacts(
            status=self.status,
            tags=self.tags,
            subscribed_at=self.subscribed_at,
            birth_month=self.birth_month,
            last_seen_at=self.last_seen_at,
            source=self.source,
            active_discounts_expire_at=tuple(
                NOW + timedelta(days=valid_days - issued_days_ago)
                for status, issued_days_ago, valid_days in map(
                    DISCOUNT_KINDS.__getitem__, self.discounts
                )
                if status is DiscountStatus.ACTIVE
            ),
            redeemed_count=self.discounts.count("redeemed"),
        )


people = st.builds(
    Person,
    status=st.sampled_from(CustomerStatus),
    tags=st.frozensets(st.sampled_from(TAGS)),
    subscribed_at=st.none() | st.sampled_from(MOMENTS),
    last_seen_at=st.sampled_from(MOMENTS),
    birth_month=st.none() | st.integers(1, 3),
    source=st.none() | st.sampled_from(SOURCES),
    discounts=st.lists(st.sampled_from(sorted(DISCOUNT_KINDS)), max_size=3).map(tuple),
)


def spelled(draw: st.DrawFn, moment: datetime) -> object:
    """A moment as a marketer's client may send it: UTC object or local ISO text."""
    if draw(st.booleans()):
        return moment
    return moment.astimezone(VLADIVOSTOK).isoformat()


@st.composite
def windows(draw: st.DrawFn, start: str, end: str) -> dict[str, object]:
    """An open or closed time window, never empty (that would be invalid rules)."""
    earlier, later = sorted(
        draw(st.lists(st.sampled_from(MOMENTS), min_size=2, max_size=2, unique=True))
    )
    sides = draw(st.sampled_from([(start,), (end,), (start, end)]))
    moments = {start: earlier, end: later}
    return {side: spelled(draw, moments[side]) for side in sides}


def rule(name: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return values.map(lambda value: {name: value})


tag_lists = st.lists(st.sampled_from(TAGS), min_size=1, max_size=2, unique=True)
RULE_KINDS = {
    # Marketers type tags any which way; the rules must still find them.
    "tags_any": rule("tags_any", tag_lists.map(lambda tags: [f" {t.upper()} " for t in tags])),
    "tags_all": rule("tags_all", tag_lists),
    "tags_none": rule("tags_none", tag_lists),
    "status": rule("status", st.lists(st.sampled_from(CustomerStatus), min_size=1, unique=True)),
    "subscribed": windows("subscribed_from", "subscribed_to"),
    "birthday_month": rule("birthday_month", st.integers(1, 3)),
    "has_active_discount": rule("has_active_discount", st.booleans()),
    "redeemed_count_at_least": rule("redeemed_count_at_least", st.integers(0, 2)),
    "last_seen": windows("last_seen_after", "last_seen_before"),
    "source": rule("source", st.lists(st.sampled_from(SOURCES), min_size=1, unique=True)),
}


@st.composite
def rule_sets(draw: st.DrawFn) -> dict[str, Any]:
    """Up to three random rules over the people's pools, so that some people match."""
    rules: dict[str, Any] = {}
    for kind in draw(st.lists(st.sampled_from(sorted(RULE_KINDS)), max_size=3, unique=True)):
        rules |= draw(RULE_KINDS[kind])
    # A tag both required and excluded is refused as a mistake: keep the rules valid.
    required = {
        tag.strip().lower() for tag in [*rules.get("tags_any", ()), *rules.get("tags_all", ())]
    }
    excluded = [tag for tag in rules.pop("tags_none", ()) if tag not in required]
    if excluded:
        rules["tags_none"] = excluded
    return rules


async def insert(session: AsyncSession, person: Person) -> Customer:
    birthday = date(1990, person.birth_month, 10) if person.birth_month else None
    customer = await make_customer(
        session,
        status=person.status,
        birthday=birthday,
        tags=sorted(person.tags),
        source=person.source,
    )
    # make_customer sets both itself, so they are overwritten here.
    customer.subscribed_at = person.subscribed_at
    customer.last_seen_at = person.last_seen_at
    for kind in person.discounts:
        status, issued_days_ago, valid_days = DISCOUNT_KINDS[kind]
        discount = await make_discount(
            session,
            customer,
            status=status,
            valid_days=valid_days,
            issued_at=NOW - timedelta(days=issued_days_ago),
        )
        # The model counts whole days from NOW (a code expiring right now included);
        # issuing rounds up to the end of a business day, so the moment is set here.
        discount.expires_at = NOW + timedelta(days=valid_days - issued_days_ago)
    await session.flush()
    return customer


# pytest-asyncio runs a @given-decorated `async def` itself: it hands Hypothesis
# a sync inner test that drives each example's coroutine on the session loop,
# so the fixtures and the engine are the ones every other test uses. The
# `sessions` fixture is set up once for all examples, which is why each example
# works inside one transaction and rolls it back: the next example starts from
# empty tables without deleting anything. Inserting is the slow part, so each
# population is asked several rule sets.
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    population=st.lists(people, min_size=10, max_size=25),
    rule_lists=st.lists(rule_sets(), min_size=1, max_size=10),
)
async def test_sql_audience_is_exactly_who_the_rules_match_one_by_one(
    sessions: async_sessionmaker[AsyncSession],
    population: list[Person],
    rule_lists: list[dict[str, Any]],
) -> None:
    async with sessions() as session:
        try:
            inserted = [((await insert(session, person)).id, person) for person in population]
            for raw_rules in rule_lists:
                rules = segments.parse_rules(raw_rules)
                expected = {
                    customer_id
                    for customer_id, person in inserted
                    if segments.matches(rules, person.facts(), now=NOW)
                }
                await assert_sql_finds(session, rules, expected)
        finally:
            await session.rollback()


async def assert_sql_finds(
    session: AsyncSession, rules: segments.SegmentRules, expected: set[int]
) -> None:
    assert set(await session.scalars(segments.members_query(rules, now=NOW))) == expected
    assert await segments.count_members(session, rules, now=NOW) == len(expected)
    assert await page_through(session, rules, page_size=7) == sorted(expected)
    # What gets stored means the same as what was typed.
    assert segments.parse_rules(rules.model_dump(mode="json", exclude_none=True)) == rules


async def page_through(
    session: AsyncSession, rules: segments.SegmentRules, *, page_size: int
) -> list[int]:
    ids: list[int] = []
    while page := await segments.page_members(
        session, rules, now=NOW, limit=page_size, after_id=ids[-1] if ids else None
    ):
        ids += [customer.id for customer in page]
    return ids


async def test_no_rules_means_everyone_but_a_date_rule_skips_the_never_subscribed(
    session: AsyncSession,
) -> None:
    subscribed = await make_customer(session)
    await make_customer(session, status=CustomerStatus.UNSUBSCRIBED)  # never subscribed
    await session.commit()

    assert await segments.count_members(session, segments.parse_rules({}), now=NOW) == 2
    before_2100 = segments.parse_rules({"subscribed_to": "2100-01-01T00:00:00Z"})
    members = await segments.page_members(session, before_2100, now=NOW)
    assert [customer.id for customer in members] == [subscribed.id]


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"tags": ["vip"]}, "tags"),
        ({"birthday_month": 13}, "birthday_month"),
        ({"redeemed_count_at_least": -1}, "redeemed_count_at_least"),
        ({"redeemed_count_at_least": 10**30}, "redeemed_count_at_least"),
        ({"last_seen_after": "2025-03-01T00:00:00"}, "last_seen_after"),
        ({"subscribed_from": datetime(2025, 3, 1)}, "subscribed_from"),
        ({"status": ["deleted"]}, "status"),
        ({"status": "active"}, "status"),
        ({"source": []}, "source"),
        ({"tags_any": ["vip", "  "]}, "tags_any"),
        ({"tags_all": [f"tag{n}" for n in range(51)]}, "tags_all"),
        ({"tags_all": ["VIP"], "tags_none": ["vip"]}, "tags_none"),
        (
            {"subscribed_from": "2025-03-01T00:00Z", "subscribed_to": "2025-03-01T10:00+10:00"},
            "subscribed_to",
        ),
        (
            {"last_seen_after": "2025-03-02T00:00Z", "last_seen_before": "2025-03-01T00:00Z"},
            "last_seen_before",
        ),
        ({"has_active_discount": "yes"}, "has_active_discount"),
        (["vip"], None),
    ],
)
def test_bad_rules_are_refused_with_the_field_named(rules: object, field: str | None) -> None:
    with pytest.raises(InvalidSegmentRules) as caught:
        segments.parse_rules(rules)

    assert caught.value.details["field"] == field
    if field is not None:
        assert field in caught.value.message


async def test_a_segment_with_bad_rules_is_not_saved(session: AsyncSession) -> None:
    admin = await make_admin(session, role=AdminRole.MARKETING)
    await session.commit()

    with pytest.raises(InvalidSegmentRules, match="birthday_month"):
        await segments.create(
            session, "Именинники", {"birthday_month": 13}, actor=Actor.admin(admin.id, admin.email)
        )
    await session.commit()

    assert await session.scalar(select(func.count()).select_from(Segment)) == 0
    assert await session.scalar(select(func.count()).select_from(AuditEntry)) == 0


async def test_marketer_manages_a_segment_from_creation_to_deletion(session: AsyncSession) -> None:
    admin = await make_admin(session, role=AdminRole.MARKETING)
    marketer = Actor.admin(admin.id, admin.email)
    fans = [await make_customer(session, tags=["сладкоежка"]) for _ in range(5)]
    await make_customer(session, tags=["опт"])
    await make_customer(session, tags=["сладкоежка"], status=CustomerStatus.UNSUBSCRIBED)
    await session.commit()

    segment = await segments.create(
        session,
        " Сладкоежки ",
        {"tags_any": ["Сладкоежка "], "status": ["active"]},
        actor=marketer,
        description="Любят всё сладкое",
    )
    await session.commit()
    assert segment.name == "Сладкоежки"
    assert segment.rules == {"tags_any": ["сладкоежка"], "status": ["active"]}

    rules = segments.parse_rules(segment.rules)
    now = utcnow()
    assert await segments.count_members(session, rules, now=now) == 5
    first = await segments.page_members(session, rules, now=now, limit=3)
    second = await segments.page_members(session, rules, now=now, limit=3, after_id=first[-1].id)
    assert [c.id for c in first] + [c.id for c in second] == [c.id for c in fans]
    assert await segments.page_members(session, rules, now=now, after_id=second[-1].id) == []

    await segments.update(session, segment.id, actor=marketer, name="Любители сладкого")
    await session.commit()
    assert (await segments.get(session, segment.id)).name == "Любители сладкого"

    wholesale = await segments.create(session, "Оптовики", {"tags_any": ["опт"]}, actor=marketer)
    await session.commit()
    with pytest.raises(Conflict):
        await segments.update(session, wholesale.id, actor=marketer, name="Любители сладкого")
    with pytest.raises(Conflict):
        await segments.create(session, "Оптовики", {}, actor=marketer)
    await session.commit()

    await segments.delete(session, segment.id, actor=marketer)
    await session.commit()
    with pytest.raises(NotFound):
        await segments.get(session, segment.id)

    entries = list(
        await session.scalars(
            select(AuditEntry).where(AuditEntry.entity_type == "segment").order_by(AuditEntry.id)
        )
    )
    assert [(entry.action, entry.entity_id) for entry in entries] == [
        ("segment.create", str(segment.id)),
        ("segment.update", str(segment.id)),
        ("segment.create", str(wholesale.id)),
        ("segment.delete", str(segment.id)),
    ]
    assert {entry.actor_id for entry in entries} == {admin.id}
    renamed = entries[1]
    assert renamed.before is not None and renamed.before["name"] == "Сладкоежки"
    assert renamed.after is not None and renamed.after["name"] == "Любители сладкого"
    assert entries[3].before is not None and entries[3].before["name"] == "Любители сладкого"


async def test_tags_are_looked_up_once_and_a_tag_nobody_has_is_handled_by_its_rule(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Statements name tags by id; a tag that does not exist yet matches nobody.

    Required (any or all) it empties the audience, excluded it excludes
    nobody; counted, paged and previewed alike, whether the tags count as
    common or not.
    """
    sweet = [await make_customer(session, tags=["сладкоежка"]) for _ in range(3)]
    plain = await make_customer(session)
    await session.commit()
    everyone = sorted(customer.id for customer in [*sweet, plain])
    cases: list[tuple[dict[str, Any], list[int]]] = [
        ({"tags_any": ["сладкоежка", "нет-такого"]}, [c.id for c in sweet]),
        ({"tags_any": ["нет-такого"]}, []),
        ({"tags_all": ["сладкоежка", "нет-такого"]}, []),
        ({"tags_none": ["нет-такого"]}, everyone),
        ({"tags_none": ["сладкоежка"]}, [plain.id]),
    ]
    for common_from in (1, 1000):  # each tag common, then none
        monkeypatch.setattr(segments.members, "COMMON_TAG", common_from)
        for raw, expected in cases:
            rules = segments.parse_rules(raw)
            tags = await segments.look_up_tags(session, rules, probe=True)
            assert tags is not None and "нет-такого" not in tags.ids
            assert await segments.count_members(session, rules, now=NOW) == len(expected), raw
            assert [c.id for c in await segments.page_members(session, rules, now=NOW)] == (
                sorted(expected)
            ), raw
            assert sorted(await session.scalars(segments.members_query(rules, now=NOW))) == (
                sorted(expected)
            ), raw
    assert await segments.look_up_tags(session, segments.parse_rules({}), probe=True) is None
