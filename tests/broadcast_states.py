"""A marketer, and broadcasts put straight into a status, for the domain's broadcast tests.

Shared by tests/domain/test_broadcast_*.py: `stored` reads a broadcast back as
the database has it, in a session of its own, so a test sees what was
committed and not what its own session holds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import broadcasts
from backend.domain.audit import Actor
from backend.domain.models import AdminRole, AuditEntry, Broadcast, BroadcastStatus
from tests.factories import make_admin

NOW = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)
VLADIVOSTOK = timezone(timedelta(hours=10))
PROMO_TEXT = "Привет, {first_name}! Ваш код {code}: скидка {percent}% до {expires_on}."
Status = BroadcastStatus


async def make_marketer(session: AsyncSession) -> Actor:
    admin = await make_admin(session, role=AdminRole.MARKETING)
    return Actor.admin(admin.id, admin.email)


async def make_broadcast(
    session: AsyncSession, actor: Actor, status: BroadcastStatus = Status.DRAFT
) -> Broadcast:
    """A broadcast put straight into `status`, with the fields that status implies."""
    broadcast = await broadcasts.create(
        session, title="Весенняя распродажа", text="Привет, {first_name}!", actor=actor
    )
    broadcast.status = status
    if status is not Status.DRAFT:
        broadcast.scheduled_at = NOW + timedelta(hours=1)
    if status not in (Status.DRAFT, Status.SCHEDULED):
        broadcast.started_at = NOW - timedelta(minutes=5)
        broadcast.rules_snapshot = {"status": ["active"]}
    if status in (Status.COMPLETED, Status.CANCELLED, Status.FAILED):
        broadcast.finished_at = NOW - timedelta(minutes=1)
    await session.flush()
    return broadcast


async def stored(sessions: async_sessionmaker[AsyncSession], broadcast_id: int) -> dict[str, Any]:
    """The broadcast as the database has it, read in a session of its own."""
    async with sessions() as fresh:
        broadcast = await fresh.get(Broadcast, broadcast_id)
        assert broadcast is not None
        return {
            "status": broadcast.status,
            "title": broadcast.title,
            "text": broadcast.text,
            "parse_mode": broadcast.parse_mode,
            "segment_id": broadcast.segment_id,
            "promo_percent": broadcast.promo_percent,
            "scheduled_at": broadcast.scheduled_at,
            "started_at": broadcast.started_at,
            "finished_at": broadcast.finished_at,
            "rules_snapshot": broadcast.rules_snapshot,
        }


async def count_rows(sessions: async_sessionmaker[AsyncSession], model: type[Any]) -> int:
    """Rows so far, read in a session of its own: on SQLite a read in the test's session
    would hold the write lock until that session commits."""
    async with sessions() as fresh:
        return await fresh.scalar(select(func.count()).select_from(model)) or 0


async def audit_count(sessions: async_sessionmaker[AsyncSession]) -> int:
    return await count_rows(sessions, AuditEntry)
