"""Is this one customer in a segment: the rules in plain Python.

The same rules as `members` (SQL over the whole base), for one customer whose
facts are at hand; the property test keeps the two in agreement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backend.domain.models import CustomerStatus
from backend.domain.segments.rules import SegmentRules


@dataclass(frozen=True)
class CustomerFacts:
    """What the rules look at, for one customer.

    Active discounts are kept as their expiry times, not a count, because
    whether one is still active depends on the `now` the rules are asked at.
    """

    status: CustomerStatus
    tags: frozenset[str] = frozenset()
    subscribed_at: datetime | None = None
    birth_month: int | None = None
    last_seen_at: datetime | None = None
    source: str | None = None
    active_discounts_expire_at: tuple[datetime, ...] = ()
    redeemed_count: int = 0


def matches(rules: SegmentRules, facts: CustomerFacts, *, now: datetime) -> bool:
    return _tags_match(rules, facts.tags) and all(
        _customer_checks(rules, facts) + _discount_checks(rules, facts, now)
    )


def _tags_match(rules: SegmentRules, tags: frozenset[str]) -> bool:
    return (
        (rules.tags_any is None or not tags.isdisjoint(rules.tags_any))
        and (rules.tags_all is None or tags.issuperset(rules.tags_all))
        and (rules.tags_none is None or tags.isdisjoint(rules.tags_none))
    )


def _customer_checks(rules: SegmentRules, facts: CustomerFacts) -> list[bool]:
    return [
        rules.status is None or facts.status in rules.status,
        _at_or_after(facts.subscribed_at, rules.subscribed_from),
        _before(facts.subscribed_at, rules.subscribed_to),
        rules.birthday_month is None or facts.birth_month == rules.birthday_month,
        _at_or_after(facts.last_seen_at, rules.last_seen_after),
        _before(facts.last_seen_at, rules.last_seen_before),
        rules.source is None or facts.source in rules.source,
    ]


def _at_or_after(moment: datetime | None, bound: datetime | None) -> bool:
    return bound is None or (moment is not None and moment >= bound)


def _before(moment: datetime | None, bound: datetime | None) -> bool:
    return bound is None or (moment is not None and moment < bound)


def _discount_checks(rules: SegmentRules, facts: CustomerFacts, now: datetime) -> list[bool]:
    has_active = any(expires_at > now for expires_at in facts.active_discounts_expire_at)
    return [
        rules.has_active_discount is None or has_active == rules.has_active_discount,
        facts.redeemed_count >= (rules.redeemed_count_at_least or 0),
    ]
