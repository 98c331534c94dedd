"""The audit log in the admin API: who changed what, newest first (owners only)."""

import datetime as dt

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from backend.domain import audit, models, pagination
from backend.domain.models import AuditEntry as AuditRow
from backend.graphql.mapping import copied
from backend.graphql.pagination import Connection, connection, decode_cursor
from backend.graphql.permissions import allow
from backend.graphql.scalars import ActorKind, to_api, to_domain

ORDERING = pagination.Ordering(AuditRow.id, AuditRow.id, pagination.Direction.DESC)


@strawberry.type(description="One change: who made it, to what, and the state before and after.")
class AuditEntry:
    id: int
    at: dt.datetime
    actor_kind: ActorKind
    actor_id: int | None
    actor_label: str | None
    action: str = strawberry.field(description='What was done, e.g. "setting.update".')
    entity_type: str
    entity_id: str | None
    before: JSON | None
    after: JSON | None

    @classmethod
    def of(cls, row: AuditRow) -> "AuditEntry":
        return copied(
            cls,
            row,
            actor_kind=to_api(ActorKind, row.actor_kind),
            before=None if row.before is None else JSON(row.before),
            after=None if row.after is None else JSON(row.after),
        )


@strawberry.type
class AuditQueries:
    @strawberry.field(
        permission_classes=allow("Query.auditLog"),
        description="Newest first; the filters given must all hold. `actorId` is an admin's, "
        "cashier's or customer's id: add `actorKind` to say whose.",
    )
    async def audit_log(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        entity_type: str | None = None,
        entity_id: str | None = None,
        actor_id: int | None = None,
        action: str | None = None,
        actor_kind: ActorKind | None = None,
    ) -> Connection[AuditEntry]:
        query = audit.listing(
            entity_type=entity_type,
            entity_id=entity_id,
            actor_id=actor_id,
            actor_kind=to_domain(models.ActorKind, actor_kind),
            action=action,
        )
        session = await info.context.session()
        page = await pagination.keyset_page(
            session, query, ORDERING, first=first, after=decode_cursor(after, ORDERING)
        )

        async def total() -> int:
            return await pagination.count(session, query)

        return connection(page, AuditEntry.of, total)


ROOTS = {"query": AuditQueries}
