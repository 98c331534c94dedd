"""Who a broadcast goes to: its segment's active members, fixed when sending starts.

Editing or deleting the segment mid-send does not move the audience; a segment
of only inactive customers cannot be sent to, and the segment of a waiting
broadcast cannot be deleted.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import broadcasts, segments
from backend.domain.audit import Actor
from backend.domain.errors import Conflict, ValidationFailed
from backend.domain.models import CustomerStatus
from tests.broadcast_states import NOW, Status, audit_count, make_marketer, stored
from tests.factories import make_customer


async def test_sending_fixes_the_audience_to_the_segments_active_members(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    marketer = await make_marketer(session)
    for status in (CustomerStatus.ACTIVE, CustomerStatus.ACTIVE, CustomerStatus.UNSUBSCRIBED):
        await make_customer(session, status=status, tags=["сладкоежка"])
    await make_customer(session, tags=["опт"])
    fans = await segments.create(
        session,
        "Сладкоежки",
        {"tags_any": ["сладкоежка"], "status": ["active", "unsubscribed"]},
        actor=marketer,
    )
    broadcast = await broadcasts.create(
        session, title="Весна", text="Привет!", segment_id=fans.id, actor=marketer
    )
    await session.commit()

    await broadcasts.send_now(session, broadcast.id, actor=marketer, now=NOW)
    await session.commit()
    snapshot = (await stored(sessions, broadcast.id))["rules_snapshot"]
    assert snapshot == {"tags_any": ["сладкоежка"], "status": ["active"]}
    audience = segments.parse_rules(snapshot)
    assert await segments.count_members(session, audience, now=NOW) == 2

    # Editing or deleting the segment mid-send does not move the audience.
    await segments.update(session, fans.id, actor=marketer, rules={"tags_any": ["опт"]})
    await segments.delete(session, fans.id, actor=marketer)
    await session.commit()
    after = await stored(sessions, broadcast.id)
    assert (after["segment_id"], after["rules_snapshot"]) == (None, snapshot)


async def test_a_segment_of_only_inactive_customers_cannot_be_sent_to(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    marketer = await make_marketer(session)
    gone = await segments.create(session, "Ушедшие", {"status": ["unsubscribed"]}, actor=marketer)
    broadcast = await broadcasts.create(
        session, title="Вернитесь", text="Мы скучаем", segment_id=gone.id, actor=marketer
    )
    await session.commit()

    with pytest.raises(ValidationFailed) as caught:
        await broadcasts.send_now(session, broadcast.id, actor=marketer, now=NOW)
    await session.commit()

    assert caught.value.details["field"] == "segment_id"
    assert (await stored(sessions, broadcast.id))["status"] is Status.DRAFT
    assert await audit_count(sessions) == 2  # the segment and the broadcast being created


async def test_segment_of_a_waiting_broadcast_cannot_be_deleted(session: AsyncSession) -> None:
    segment = await segments.create(
        session, "Сладкоежки", {"tags_any": ["сладкоежка"]}, actor=Actor.system()
    )
    draft = await broadcasts.create(
        session, title="Акция", text="Скидки!", segment_id=segment.id, actor=Actor.system()
    )
    with pytest.raises(Conflict):
        await segments.delete(session, segment.id, actor=Actor.system())
    await broadcasts.cancel(session, draft.id, actor=Actor.system(), now=datetime.now(UTC))
    await segments.delete(session, segment.id, actor=Actor.system())
