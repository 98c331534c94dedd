"""Who did what: every change a person makes leaves an `AuditEntry`.

Services call `record` inside the same transaction as the change, so a change
and its audit line land (or roll back) together; `listing` is what owners read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.clock import utcnow
from backend.domain.models import ActorKind, AuditEntry


@dataclass(frozen=True)
class Actor:
    """Who is acting: an admin, a cashier, a customer, or the system itself."""

    kind: ActorKind
    id: int | None = None
    label: str | None = None
    request_id: str | None = None

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(ActorKind.SYSTEM, None, label)

    @classmethod
    def admin(cls, admin_id: int, email: str | None = None, request_id: str | None = None) -> Actor:
        return cls(ActorKind.ADMIN, admin_id, email, request_id)

    @property
    def is_person(self) -> bool:
        return self.kind is not ActorKind.SYSTEM


def jsonable(value: Any) -> Any:
    """Turn a snapshot into JSON the audit column can hold."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


async def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: object | None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=utcnow(),
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_label=actor.label,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
        request_id=actor.request_id,
    )
    session.add(entry)
    await session.flush()
    return entry


def listing(
    *,
    entity_type: str | None = None,
    entity_id: str | None = None,
    actor_id: int | None = None,
    actor_kind: ActorKind | None = None,
    action: str | None = None,
) -> Select[AuditEntry]:
    """The log's lines for which every filter given holds (the API pages it newest first)."""
    query = select(AuditEntry)
    if actor_kind is not None:
        query = query.where(AuditEntry.actor_kind == actor_kind)
    if entity_type is not None:
        query = query.where(AuditEntry.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    return query
