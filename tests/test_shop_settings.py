"""The owner tunes the shop: valid values are stored and audited, bad ones change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import shop_settings
from backend.domain.audit import Actor
from backend.domain.errors import ErrorCode, InvalidSetting
from backend.domain.models import AuditEntry, ShopSetting
from tests.factories import make_admin


async def test_defaults_are_there_before_anyone_changes_anything(session: AsyncSession) -> None:
    values = await shop_settings.get_all(session)
    assert values["discount_percent_subscription"] == 10
    assert values["discount_percent_birthday"] == 15
    assert values["broadcast_send_rate_per_second"] == 25
    assert set(values) == set(shop_settings.SPECS)


async def test_owner_changes_the_birthday_percent(session: AsyncSession) -> None:
    owner = await make_admin(session)
    actor = Actor.admin(owner.id, owner.email)

    await shop_settings.set_value(session, "discount_percent_birthday", 20, actor)
    await session.commit()

    assert (await shop_settings.get_all(session))["discount_percent_birthday"] == 20
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "setting.update"))
    assert entry is not None
    assert (entry.actor_id, entry.entity_id) == (owner.id, "discount_percent_birthday")
    assert (entry.before, entry.after) == ({"value": 15}, {"value": 20})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("discount_percent_birthday", 0),
        ("discount_percent_birthday", 101),
        ("discount_percent_birthday", "15"),
        ("discount_percent_birthday", True),
        ("broadcast_send_rate_per_second", 1001),
        ("birthday_discount_enabled", "yes"),
        ("no_such_setting", 1),
    ],
)
async def test_bad_setting_is_refused_and_changes_nothing(
    session: AsyncSession, key: str, value: object
) -> None:
    with pytest.raises(InvalidSetting) as caught:
        await shop_settings.set_value(session, key, value, Actor.system())
    assert caught.value.code is ErrorCode.INVALID_SETTING
    assert key in caught.value.message
    assert await session.scalar(select(func.count()).select_from(ShopSetting)) == 0
    assert await session.scalar(select(func.count()).select_from(AuditEntry)) == 0
