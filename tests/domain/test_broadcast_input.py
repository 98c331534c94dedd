"""What a marketer writes into a broadcast is checked before anything is saved.

Bad text, title, promo or segment is refused with the field named and nothing
stored; the longest allowed text is accepted; a schedule must fall within the
next year.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import broadcasts
from backend.domain.errors import DomainError, NotFound, ValidationFailed
from backend.domain.models import Broadcast
from tests.broadcast_states import (
    NOW,
    PROMO_TEXT,
    Status,
    audit_count,
    count_rows,
    make_broadcast,
    make_marketer,
    stored,
)


@pytest.mark.parametrize(
    ("fields", "error", "field"),
    [
        ({"text": "   "}, ValidationFailed, "text"),
        ({"text": "я" * 4097}, ValidationFailed, "text"),
        ({"text": "Код {code}"}, ValidationFailed, "promo_percent"),
        ({"text": "До {expires_on}", "promo_percent": None}, ValidationFailed, "promo_percent"),
        ({"text": "Привет, {name}!"}, ValidationFailed, "text"),
        ({"text": "Привет, {first_name!"}, ValidationFailed, "text"),
        ({"text": "Привет, {0}!"}, ValidationFailed, "text"),
        ({"promo_percent": 0}, ValidationFailed, "promo_percent"),
        ({"promo_percent": 101}, ValidationFailed, "promo_percent"),
        ({"title": "  "}, ValidationFailed, "title"),
        ({"title": "т" * 201}, ValidationFailed, "title"),
        ({"segment_id": 999_999}, NotFound, None),
    ],
)
async def test_a_broadcast_with_bad_input_is_not_saved(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    fields: dict[str, Any],
    error: type[DomainError],
    field: str | None,
) -> None:
    marketer = await make_marketer(session)
    await session.commit()
    values: dict[str, Any] = {"title": "Весна", "text": "Привет, {first_name}!", **fields}

    with pytest.raises(error) as caught:
        await broadcasts.create(session, **values, actor=marketer)
    await session.commit()

    assert caught.value.details.get("field") == field
    assert await count_rows(sessions, Broadcast) == 0
    assert await audit_count(sessions) == 0


async def test_the_longest_allowed_text_and_title_are_accepted(session: AsyncSession) -> None:
    marketer = await make_marketer(session)
    broadcast = await broadcasts.create(
        session, title="т" * 200, text="я" * 4096, promo_percent=100, actor=marketer
    )
    await session.commit()
    assert (len(broadcast.title), len(broadcast.text)) == (200, 4096)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"clear_promo_percent": True}, ValidationFailed),
        ({"text": "Привет, {nickname}"}, ValidationFailed),
        ({"title": ""}, ValidationFailed),
        ({"promo_percent": 0}, ValidationFailed),
        ({"segment_id": 999_999}, NotFound),
        ({"segment_id": 1, "clear_segment": True}, ValidationFailed),
        ({"promo_percent": 10, "clear_promo_percent": True}, ValidationFailed),
    ],
)
async def test_a_bad_edit_changes_nothing(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    changes: dict[str, Any],
    error: type[DomainError],
) -> None:
    marketer = await make_marketer(session)
    broadcast = await broadcasts.create(
        session, title="Весна", text=PROMO_TEXT, promo_percent=10, actor=marketer
    )
    await session.commit()
    before = await stored(sessions, broadcast.id)

    with pytest.raises(error):
        await broadcasts.update(session, broadcast.id, actor=marketer, **changes)
    await session.commit()

    assert await stored(sessions, broadcast.id) == before
    assert await audit_count(sessions) == 1


@pytest.mark.parametrize(
    "at",
    [
        NOW - timedelta(minutes=1),
        NOW,
        NOW.replace(tzinfo=None) + timedelta(hours=1),
        NOW + timedelta(days=365, seconds=1),
    ],
    ids=["past", "now", "naive", "beyond-a-year"],
)
async def test_a_broadcast_cannot_be_scheduled_outside_the_next_year(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession], at: datetime
) -> None:
    marketer = await make_marketer(session)
    broadcast = await make_broadcast(session, marketer)
    await session.commit()

    with pytest.raises(ValidationFailed) as caught:
        await broadcasts.schedule(session, broadcast.id, at, actor=marketer, now=NOW)
    await session.commit()

    assert caught.value.details["field"] == "scheduled_at"
    state = await stored(sessions, broadcast.id)
    assert (state["status"], state["scheduled_at"]) == (Status.DRAFT, None)
    assert await audit_count(sessions) == 1

    await broadcasts.schedule(
        session, broadcast.id, NOW + timedelta(days=365), actor=marketer, now=NOW
    )
    await session.commit()
    assert (await stored(sessions, broadcast.id))["status"] is Status.SCHEDULED
