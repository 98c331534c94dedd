"""Admins edit customers (profile, tags and notes, each change audited) and find them."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import customer_search, customers
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.customer_search import CustomerFilter, SearchField
from backend.domain.errors import NotFound, ValidationFailed
from backend.domain.models import AuditEntry, Customer
from tests.factories import make_admin, make_customer, profile

TODAY = date(2026, 11, 25)


async def test_marketer_sets_birthday_phone_and_note(session: AsyncSession) -> None:
    admin = await make_admin(session)
    customer = await make_customer(session)

    await customers.update_profile(
        session,
        customer.id,
        customers.ProfileChanges(
            phone="8 (914) 123-45-67", birthday=date(1990, 12, 31), note="Любит лакрицу"
        ),
        actor=Actor.admin(admin.id),
        today=TODAY,
    )
    await session.commit()

    stored = await session.get(Customer, customer.id)
    assert stored is not None
    assert (stored.phone, stored.birthday, stored.note) == (
        "+89141234567",
        date(1990, 12, 31),
        "Любит лакрицу",
    )
    assert (stored.birth_month, stored.birth_day) == (12, 31)
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "customer.update"))
    assert entry is not None and entry.after is not None
    assert entry.after["birthday"] == "1990-12-31"
    assert entry.before is not None and entry.before["birthday"] is None


async def test_future_birthday_and_bad_phone_are_refused(session: AsyncSession) -> None:
    customer = await make_customer(session)
    with pytest.raises(ValidationFailed):
        await customers.update_profile(
            session,
            customer.id,
            customers.ProfileChanges(birthday=date(2030, 1, 1)),
            actor=Actor.system(),
            today=TODAY,
        )
    with pytest.raises(ValidationFailed):
        await customers.update_profile(
            session,
            customer.id,
            customers.ProfileChanges(phone="12"),
            actor=Actor.system(),
            today=TODAY,
        )
    with pytest.raises(NotFound):
        await customers.update_profile(
            session, 999_999, customers.ProfileChanges(note="x"), actor=Actor.system(), today=TODAY
        )


async def test_tags_are_added_and_removed_case_insensitively(session: AsyncSession) -> None:
    customer = await make_customer(session, tags=["опт"])
    await customers.change_tags(
        session, customer.id, add=["VIP", " Сладкоежка "], remove=["ОПТ"], actor=Actor.system()
    )
    await session.commit()
    stored = await customers.get(session, customer.id, for_update=True)
    assert stored.tag_names == ["vip", "сладкоежка"]


async def test_register_refreshes_what_telegram_says(session: AsyncSession) -> None:
    now = utcnow()
    first, created = await customers.register(
        session, profile(telegram_id=42, first_name="Аня"), now=now
    )
    again, created_again = await customers.register(
        session, profile(telegram_id=42, first_name="Анна"), now=now
    )
    assert created and not created_again
    assert again.id == first.id and again.first_name == "Анна"


async def found_by(
    session: AsyncSession, text: str, search_in: frozenset[SearchField] | None = None
) -> int:
    """How many customers a search finds (in `search_in`, or by default)."""
    search = CustomerFilter(search=text)
    if search_in is not None:
        search = CustomerFilter(search=text, search_in=search_in)
    return await customer_search.count(session, search, now=utcnow())


async def test_search_matches_only_what_the_caller_may_see_and_by_default_no_contacts(
    session: AsyncSession,
) -> None:
    customer = await make_customer(
        session, first_name="Зоя", phone="+79145550199", username="zoya_sweet"
    )
    await session.commit()
    contacts = frozenset({SearchField.PHONE, SearchField.USERNAME})
    everything = customer_search.EVERYONE_SEES | contacts

    for text in ("зоя", str(customer.telegram_id)):
        assert await found_by(session, text) == 1, text
    for text in ("+7914555", "zoya_sweet", "@zoya"):
        assert await found_by(session, text) == 0, text
        assert await found_by(session, text, search_in=everything) == 1, text
    assert await found_by(session, "зоя", search_in=contacts) == 0, "names not asked for"
    assert await found_by(session, "зоя", search_in=frozenset()) == 0, "nothing to match"
