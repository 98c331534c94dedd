"""Owners page through the audit log, newest first, and narrow it down."""

from __future__ import annotations

import base64
import json

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import audit
from backend.domain.audit import Actor
from backend.domain.models import ActorKind, AdminRole
from tests.api import GraphQLClient

LOG = """
query(
  $first: Int, $after: String, $entityType: String, $entityId: String, $actorId: Int,
  $action: String, $actorKind: ActorKind
) {
  auditLog(
    first: $first, after: $after, entityType: $entityType, entityId: $entityId,
    actorId: $actorId, action: $action, actorKind: $actorKind
  ) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id at actorKind actorId actorLabel action entityId before after } }
  }
}
"""


async def _record_history(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Seven lines: admins 1 and 2 edit segments, cashier 1 redeems, the system expires."""
    olga, ivan = Actor.admin(1, "olga@dvorik.test"), Actor.admin(2, "ivan@dvorik.test")
    cashier = Actor(ActorKind.CASHIER, 1, "Ольга")
    lines = [
        (olga, "segment.create", "segment", 1, None, {"name": "Весна"}),
        (olga, "segment.update", "segment", 1, {"name": "Весна"}, {"name": "Лето"}),
        (ivan, "segment.create", "segment", 2, None, {"name": "VIP"}),
        (cashier, "discount.redeem", "discount", 7, {"status": "active"}, {"status": "redeemed"}),
        (Actor.system("expiry"), "discount.expire", "discount", 8, None, None),
        (ivan, "segment.delete", "segment", 2, {"name": "VIP"}, None),
        (olga, "setting.update", "setting", "birthday_days_before", {"value": 0}, {"value": 3}),
    ]
    async with sessions() as session, session.begin():
        for actor, action, entity_type, entity_id, before, after in lines:
            await audit.record(
                session, actor, action, entity_type, entity_id, before=before, after=after
            )


def _actions(response_log: dict[str, object]) -> list[str]:
    edges = response_log["edges"]
    assert isinstance(edges, list)
    return [edge["node"]["action"] for edge in edges]


async def test_owner_pages_through_the_log_newest_first(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _record_history(sessions)
    owner = staff[AdminRole.OWNER]

    first = (await owner(LOG, first=3)).data["auditLog"]
    assert first["totalCount"] == 7
    assert _actions(first) == ["setting.update", "segment.delete", "discount.expire"]
    assert first["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "endCursor": first["edges"][-1]["cursor"],
    }
    newest = first["edges"][0]["node"]
    assert newest["actorKind"] == "ADMIN" and newest["actorLabel"] == "olga@dvorik.test"
    assert (newest["before"], newest["after"]) == ({"value": 0}, {"value": 3})
    assert first["edges"][2]["node"]["before"] is None

    seen = _actions(first)
    cursor = first["pageInfo"]["endCursor"]
    while cursor is not None:
        page = (await owner(LOG, first=3, after=cursor)).data["auditLog"]
        assert page["pageInfo"]["hasPreviousPage"] is True
        seen += _actions(page)
        cursor = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert seen == [
        "setting.update",
        "segment.delete",
        "discount.expire",
        "discount.redeem",
        "segment.create",
        "segment.update",
        "segment.create",
    ]


async def test_filters_narrow_the_log(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _record_history(sessions)
    owner = staff[AdminRole.OWNER]

    async def actions(**filters: object) -> list[str]:
        response = await owner(LOG, **filters)
        log = response.data["auditLog"]
        assert log["totalCount"] == len(log["edges"])
        return _actions(log)

    assert await actions(entityType="segment", entityId="2") == [
        "segment.delete",
        "segment.create",
    ]
    assert await actions(action="segment.create") == ["segment.create", "segment.create"]
    assert await actions(actorId=1) == [
        "setting.update",
        "discount.redeem",
        "segment.update",
        "segment.create",
    ], "admin 1 and cashier 1"
    assert await actions(actorId=1, actorKind="ADMIN") == [
        "setting.update",
        "segment.update",
        "segment.create",
    ]
    assert await actions(actorKind="SYSTEM") == ["discount.expire"]
    assert await actions(entityType="broadcast") == []


async def test_bad_cursors_and_page_sizes_are_refused(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _record_history(sessions)
    owner = staff[AdminRole.OWNER]
    forged = base64.urlsafe_b64encode(json.dumps(["x", "1; DROP TABLE audit_log"]).encode())

    for cursor in ("not a cursor", "%%%", forged.decode()):
        assert (await owner(LOG, after=cursor)).error_code == "BAD_CURSOR", cursor
    for first in (500, 0, -1):
        response = await owner(LOG, first=first)
        assert response.error_code == "VALIDATION", first
        assert response.body["errors"][0]["extensions"]["field"] == "first"
    assert (await owner(LOG)).data["auditLog"]["totalCount"] == 7


async def test_only_owners_read_the_log(
    staff: dict[AdminRole, GraphQLClient], graphql: GraphQLClient
) -> None:
    for role in (AdminRole.MARKETING, AdminRole.READONLY):
        assert (await staff[role](LOG)).error_code == "FORBIDDEN", role
    assert (await graphql(LOG)).error_code == "UNAUTHENTICATED"
