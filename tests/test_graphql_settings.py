"""Owners tune the shop's settings over the API; every change shows in the audit log."""

from __future__ import annotations

from typing import Any

from backend.domain import shop_settings
from backend.domain.models import AdminRole
from tests.api import GraphQLClient

SETTINGS = "{ settings { key value default description type minimum maximum } }"
UPDATE = """
mutation($key: String!, $value: JSON!) {
  updateSetting(key: $key, value: $value) { key value default type minimum maximum }
}
"""
AUDIT = """
query($type: String, $id: String) {
  auditLog(entityType: $type, entityId: $id) {
    totalCount
    edges { node { actorKind actorId actorLabel action entityType entityId before after } }
  }
}
"""


def by_key(settings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {setting["key"]: setting for setting in settings}


async def test_owner_changes_a_setting_and_the_audit_log_shows_who_before_and_after(
    staff: dict[AdminRole, GraphQLClient],
) -> None:
    owner = staff[AdminRole.OWNER]
    me = (await owner("{ me { id email } }")).data["me"]

    listed = by_key((await owner(SETTINGS)).data["settings"])
    assert list(listed) == list(shop_settings.SPECS)
    assert listed["discount_percent_birthday"] == {
        "key": "discount_percent_birthday",
        "value": 15,
        "default": 15,
        "description": "Percent off for a birthday discount",
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
    }
    assert listed["birthday_discount_enabled"]["type"] == "boolean"
    assert listed["birthday_discount_enabled"]["minimum"] is None

    changed = await owner(UPDATE, key="discount_percent_birthday", value=20)
    assert changed.data["updateSetting"]["value"] == 20
    assert changed.data["updateSetting"]["default"] == 15
    await owner(UPDATE, key="birthday_discount_enabled", value=False)

    after = by_key((await owner(SETTINGS)).data["settings"])
    assert after["discount_percent_birthday"]["value"] == 20
    assert after["birthday_discount_enabled"]["value"] is False

    log = (await owner(AUDIT, type="setting", id="discount_percent_birthday")).data["auditLog"]
    assert log["totalCount"] == 1
    assert log["edges"][0]["node"] == {
        "actorKind": "ADMIN",
        "actorId": me["id"],
        "actorLabel": me["email"],
        "action": "setting.update",
        "entityType": "setting",
        "entityId": "discount_percent_birthday",
        "before": {"value": 15},
        "after": {"value": 20},
    }
    everything = (await owner(AUDIT, type="setting")).data["auditLog"]
    assert [edge["node"]["entityId"] for edge in everything["edges"]] == [
        "birthday_discount_enabled",
        "discount_percent_birthday",
    ], "newest first"


async def test_invalid_values_are_refused_and_nothing_changes(
    staff: dict[AdminRole, GraphQLClient],
) -> None:
    owner = staff[AdminRole.OWNER]
    refused = [
        await owner(UPDATE, key="discount_percent_birthday", value=101),
        await owner(UPDATE, key="discount_percent_birthday", value="20"),
        await owner(UPDATE, key="discount_percent_birthday", value=True),
        await owner(UPDATE, key="discount_percent_birthday", value=12.5),
        await owner(UPDATE, key="birthday_discount_enabled", value=1),
        await owner(UPDATE, key="no_such_setting", value=1),
    ]
    assert [response.error_code for response in refused] == ["INVALID_SETTING"] * 6
    assert refused[0].body["errors"][0]["extensions"]["key"] == "discount_percent_birthday"

    current = by_key((await owner(SETTINGS)).data["settings"])
    assert current["discount_percent_birthday"]["value"] == 15
    assert (await owner(AUDIT)).data["auditLog"]["totalCount"] == 0


async def test_only_owners_change_settings_and_read_the_audit_log(
    staff: dict[AdminRole, GraphQLClient], graphql: GraphQLClient
) -> None:
    for role in (AdminRole.MARKETING, AdminRole.READONLY):
        client = staff[role]
        assert len((await client(SETTINGS)).data["settings"]) == len(shop_settings.SPECS)
        changed = await client(UPDATE, key="discount_percent_birthday", value=20)
        assert changed.error_code == "FORBIDDEN", role
        assert (await client(AUDIT)).error_code == "FORBIDDEN", role
    assert (await graphql(SETTINGS)).error_code == "UNAUTHENTICATED"

    current = by_key((await staff[AdminRole.OWNER](SETTINGS)).data["settings"])
    assert current["discount_percent_birthday"]["value"] == 15
