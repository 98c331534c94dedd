"""Owners tune the shop's settings over the API; every change shows in the audit log.

A setting the bots act on is checked by meaning before it is stored: the
subscription channel against the fake Bot API the customer bot talks to.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from itertools import count
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import shop_settings
from backend.domain.models import AdminRole
from backend.fake_telegram import FakeUser
from tests.api import GraphQLClient, signed_in
from tests.telegram_world import CUSTOMER_TOKEN, Telegram, fresh, telegram_world

__all__ = ["telegram_world"]

SETTINGS = "{ settings { key value default description type minimum maximum maxLength } }"
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
        "maxLength": None,
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


@dataclass
class ShopWithBots:
    telegram: Telegram
    owner: GraphQLClient


@pytest.fixture
async def shop(
    telegram_world: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[ShopWithBots]:
    """Dvorik with its bots on the fake Bot API, which knows @marmelad_dvorik; the owner."""
    telegram = await fresh(telegram_world)
    telegram.fake.chats.add_channel("marmelad_dvorik", title="Мармеладный Дворик")
    token = await signed_in(sessions, AdminRole.OWNER, "owner@dvorik.test")
    async with httpx.AsyncClient(base_url=telegram.dvorik.url, timeout=30) as http:
        yield ShopWithBots(telegram, GraphQLClient(http, token))


_people = count(6_100_001)


async def start_greets_a_new_customer(telegram: Telegram) -> bool:
    user = FakeUser(id=next(_people), first_name="Зоя")
    await telegram.fake.send_text(CUSTOMER_TOKEN, user, "/start")
    return telegram.texts_to(user, CUSTOMER_TOKEN)[0].startswith("Здравствуйте, Зоя!")


async def test_a_channel_that_would_break_the_bot_is_refused_and_changes_nothing(
    shop: ShopWithBots,
) -> None:
    refused = {
        value: await shop.owner(UPDATE, key="subscription_channel", value=value)
        for value in ("x" * 100_000, "@a", "t.me/x", "@no_such_channel")
    }
    assert {value[:20]: response.error_code for value, response in refused.items()} == {
        "x" * 20: "INVALID_SETTING",
        "@a": "INVALID_SETTING",
        "t.me/x": "INVALID_SETTING",
        "@no_such_channel": "INVALID_SETTING",
    }
    reasons = [response.body["errors"][0]["extensions"]["reason"] for response in refused.values()]
    assert reasons == ["too_long", "shape", "shape", "not_found"]
    assert all(len(response.body["errors"][0]["message"]) < 300 for response in refused.values()), (
        "the value is not echoed back"
    )
    assert shop.telegram.fake.method_counts["getChat"] == 1, "only a well-formed one is asked"

    current = by_key((await shop.owner(SETTINGS)).data["settings"])["subscription_channel"]
    assert current["value"] == "" and current["maxLength"] == 33
    assert (await shop.owner(AUDIT, type="setting")).data["auditLog"]["totalCount"] == 0
    assert await start_greets_a_new_customer(shop.telegram)


async def test_a_channel_the_bot_api_knows_is_stored(shop: ShopWithBots) -> None:
    changed = await shop.owner(UPDATE, key="subscription_channel", value="@marmelad_dvorik")
    assert changed.data["updateSetting"]["value"] == "@marmelad_dvorik"
    current = by_key((await shop.owner(SETTINGS)).data["settings"])["subscription_channel"]
    assert current["value"] == "@marmelad_dvorik"
    log = (await shop.owner(AUDIT, type="setting", id="subscription_channel")).data["auditLog"]
    assert log["edges"][0]["node"]["after"] == {"value": "@marmelad_dvorik"}
    cleared = await shop.owner(UPDATE, key="subscription_channel", value="")
    assert cleared.data["updateSetting"]["value"] == ""


async def test_without_a_customer_bot_no_channel_can_be_checked_so_none_is_set(
    staff: dict[AdminRole, GraphQLClient],
) -> None:
    owner = staff[AdminRole.OWNER]
    unchecked = await owner(UPDATE, key="subscription_channel", value="@marmelad_dvorik")
    assert unchecked.error_code == "INVALID_SETTING"
    assert unchecked.body["errors"][0]["extensions"]["reason"] == "unchecked"
    assert "TELEGRAM_BOT_TOKEN" in unchecked.body["errors"][0]["message"]
    huge = await owner(UPDATE, key="subscription_channel", value="x" * 100_000)
    assert huge.body["errors"][0]["extensions"]["reason"] == "too_long"
    current = by_key((await owner(SETTINGS)).data["settings"])["subscription_channel"]
    assert current["value"] == ""
