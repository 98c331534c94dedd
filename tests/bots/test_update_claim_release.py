"""An update's claim given back after an outage: its redelivery is handled, and only once.

The webhook gives the claim back when an outage stopped the update
(`backend.bots.webhooks`); these are the claim's own rules, on SQLite and
MariaDB: only the delivery that took the claim may give it back, and when
the database cannot take the record back either, the process remembers the
update instead (`tests/ops/test_outage_webhooks.py` shows both end to end).
"""

from __future__ import annotations

import dataclasses
import itertools

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.bots.update_claims import AbandonedClaims, UpdateClaim
from backend.domain.clock import utcnow
from backend.domain.database import create_engine, create_sessionmaker
from tests.processes import free_port

Sessions = async_sessionmaker[AsyncSession]
_update_ids = itertools.count(9_100_001)


def delivery(sessions: Sessions, update_id: int, abandoned: AbandonedClaims) -> UpdateClaim:
    """The claim of one delivery of the update, as the webhook makes it."""
    return UpdateClaim(sessions, "customer", update_id, utcnow(), abandoned)


async def test_a_claim_given_back_lets_the_redelivery_through_once(sessions: Sessions) -> None:
    update_id, abandoned = next(_update_ids), AbandonedClaims()
    first = delivery(sessions, update_id, abandoned)
    assert await first.take_alone()
    await first.release()  # an outage stopped it

    assert await delivery(sessions, update_id, abandoned).take_alone()
    assert not await delivery(sessions, update_id, abandoned).take_alone()


async def test_a_duplicate_meeting_an_outage_does_not_give_back_the_first_ones_claim(
    sessions: Sessions,
) -> None:
    update_id, abandoned = next(_update_ids), AbandonedClaims()
    assert await delivery(sessions, update_id, abandoned).take_alone()
    duplicate = delivery(sessions, update_id, abandoned)
    assert not await duplicate.take_alone()
    await duplicate.release()

    assert not await delivery(sessions, update_id, abandoned).take_alone()


async def test_a_claim_the_database_cannot_take_back_is_remembered_until_handled(
    sessions: Sessions,
) -> None:
    update_id, abandoned = next(_update_ids), AbandonedClaims()
    first = delivery(sessions, update_id, abandoned)
    assert await first.take_alone()
    down = create_engine(f"mysql+asyncmy://root@127.0.0.1:{free_port()}/dvorik")
    try:  # the database went away before the claim could be given back
        await dataclasses.replace(first, sessions=create_sessionmaker(down)).release()
    finally:
        await down.dispose()

    redelivered = delivery(sessions, update_id, abandoned)
    assert await redelivered.take_alone()  # on record, yet handled: it never was
    redelivered.settled()
    assert not await delivery(sessions, update_id, abandoned).take_alone()
