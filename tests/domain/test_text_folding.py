"""Names compare the same on every database: case-insensitive, ё equal to е (docs/text-folding.md).

MariaDB's collation did this by itself; PostgreSQL's is case-sensitive and
SQLite's lower() ASCII-only, so each of these ran differently per database
until the comparison was written once (`backend.domain.dialects.folded`).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import customer_search, segments
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.customer_search import CustomerFilter, SearchField
from backend.domain.errors import Conflict
from backend.domain.models import Tag
from tests.factories import make_customer

ACTOR = Actor.system("folding")


async def found_by(session: AsyncSession, text: str) -> int:
    search = CustomerFilter(search=text, search_in=customer_search.EVERYONE_SEES)
    return await customer_search.count(session, search, now=utcnow())


@pytest.mark.parametrize(
    "text", ["Ёлкина", "елкина", "ЁЛКИНА", "ёлкина", "ЕЛКИНА", "лкин", "ЛЁНА", "алена"]
)
async def test_a_customer_is_found_by_her_name_in_any_case_with_e_for_yo(
    session: AsyncSession, text: str
) -> None:
    await make_customer(session, first_name="Алёна", last_name="Ёлкина")
    await make_customer(session, first_name="Борис", last_name="Петров")
    await session.commit()

    assert await found_by(session, text) == 1


async def test_a_username_is_found_in_any_case(session: AsyncSession) -> None:
    await make_customer(session, username="Sweet_Tooth")
    await session.commit()

    search = CustomerFilter(search="@sweet_TOOTH", search_in=frozenset({SearchField.USERNAME}))
    assert await customer_search.count(session, search, now=utcnow()) == 1


async def test_tags_that_differ_in_case_or_e_for_yo_are_one_tag(session: AsyncSession) -> None:
    await make_customer(session, tags=["Сладкоежка", "Ёлочка"])
    await make_customer(session, tags=["сладкоежка", "елочка"])
    await make_customer(session, tags=["СЛАДКОЕЖКА", "ЁЛОЧКА"])
    await session.commit()

    assert await session.scalar(select(func.count()).select_from(Tag)) == 2


async def test_a_segment_finds_the_members_of_a_tag_however_the_rule_spells_it(
    session: AsyncSession,
) -> None:
    await make_customer(session, tags=["ёлочка"])
    await make_customer(session, tags=["другое"])
    await session.commit()

    for spelling in ("Ёлочка", "елочка", "ЕЛОЧКА"):
        rules = segments.parse_rules({"tags_any": [spelling]})
        assert await segments.count_members(session, rules, now=utcnow()) == 1, spelling


@pytest.mark.parametrize(
    ("first", "second"),
    [("Сладкоежки", "сладкоежки"), ("Сладкоежки", "СЛАДКОЕЖКИ"), ("Ёлки", "елки")],
)
async def test_a_segment_name_that_differs_in_case_or_e_for_yo_is_taken(
    session: AsyncSession, first: str, second: str
) -> None:
    await segments.create(session, first, {"status": ["active"]}, actor=ACTOR)
    await session.commit()

    with pytest.raises(Conflict):
        await segments.create(session, second, {"status": ["active"]}, actor=ACTOR)
