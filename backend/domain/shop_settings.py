"""Shop settings an owner changes at run time: percents, validity, send rate.

Each setting is declared once in `SPECS` with its type, bounds and default;
the database keeps only overrides. Reading returns defaults merged with
overrides; writing validates, stores and leaves an audit line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import audit
from backend.domain.audit import Actor
from backend.domain.errors import InvalidSetting
from backend.domain.models import ActorKind, DiscountKind, ShopSetting


@dataclass(frozen=True)
class SettingSpec:
    key: str
    type: type[int] | type[bool] | type[str]
    default: int | bool | str
    description: str
    minimum: int | None = None
    maximum: int | None = None

    def validate(self, value: Any) -> int | bool | str:
        if self.type is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidSetting(f"{self.key} must be a whole number", key=self.key)
            if self.minimum is not None and value < self.minimum:
                raise InvalidSetting(f"{self.key} must be at least {self.minimum}", key=self.key)
            if self.maximum is not None and value > self.maximum:
                raise InvalidSetting(f"{self.key} must be at most {self.maximum}", key=self.key)
            return value
        if not isinstance(value, self.type):
            raise InvalidSetting(f"{self.key} must be a {self.type.__name__}", key=self.key)
        return value


def _percent(kind: DiscountKind, default: int) -> SettingSpec:
    return SettingSpec(
        f"discount_percent_{kind.value}",
        int,
        default,
        f"Percent off for a {kind.value} discount",
        1,
        100,
    )


def _validity(kind: DiscountKind, default: int) -> SettingSpec:
    return SettingSpec(
        f"discount_valid_days_{kind.value}",
        int,
        default,
        f"Days a {kind.value} discount stays valid",
        1,
        366,
    )


SPECS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in (
        _percent(DiscountKind.SUBSCRIPTION, 10),
        _percent(DiscountKind.BIRTHDAY, 15),
        _percent(DiscountKind.MANUAL, 10),
        _percent(DiscountKind.PROMO, 10),
        _validity(DiscountKind.SUBSCRIPTION, 30),
        _validity(DiscountKind.BIRTHDAY, 14),
        _validity(DiscountKind.MANUAL, 30),
        _validity(DiscountKind.PROMO, 7),
        SettingSpec(
            "birthday_days_before",
            int,
            0,
            "How many days before the birthday the birthday discount is given",
            0,
            30,
        ),
        SettingSpec(
            "broadcast_send_rate_per_second",
            int,
            25,
            "Messages per second all workers together may send: about 30 for Telegram's "
            "free limit, up to 1000 with paid broadcasts",
            1,
            1000,
        ),
        SettingSpec(
            "bulk_background_threshold",
            int,
            500,
            "Bulk actions on more customers than this run as a background job",
            1,
            1_000_000,
        ),
        SettingSpec(
            "subscription_channel",
            str,
            "",
            "Telegram channel (@name) a customer must join to get the subscription discount; "
            "empty: no channel needed",
        ),
        SettingSpec(
            "cashier_lookups_per_minute",
            int,
            20,
            "Code look-ups one cashier may make per minute (stops guessing)",
            1,
            600,
        ),
        SettingSpec(
            "subscription_discount_enabled",
            bool,
            True,
            "Give a discount to every new subscriber",
        ),
        SettingSpec(
            "birthday_discount_enabled",
            bool,
            True,
            "Give a discount on customers' birthdays",
        ),
    )
}


def spec_for(key: str) -> SettingSpec:
    try:
        return SPECS[key]
    except KeyError:
        raise InvalidSetting(f"unknown setting {key!r}", key=key) from None


async def get_all(session: AsyncSession) -> dict[str, int | bool | str]:
    """Every setting's current value: defaults overlaid with stored overrides."""
    values: dict[str, int | bool | str] = {key: spec.default for key, spec in SPECS.items()}
    rows = await session.scalars(select(ShopSetting))
    for row in rows:
        if row.key in SPECS:
            values[row.key] = row.value
    return values


async def get(session: AsyncSession, key: str) -> Any:
    spec = spec_for(key)
    row = await session.get(ShopSetting, key)
    return spec.default if row is None else row.value


async def get_int(session: AsyncSession, key: str) -> int:
    value = await get(session, key)
    assert isinstance(value, int)
    return value


async def set_value(session: AsyncSession, key: str, value: Any, actor: Actor) -> Any:
    """Validate and store one setting; the previous value goes to the audit log."""
    spec = spec_for(key)
    checked = spec.validate(value)
    row = await session.get(ShopSetting, key)
    before = spec.default if row is None else row.value
    if row is None:
        row = ShopSetting(key=key, value=checked)
        session.add(row)
    else:
        row.value = checked
    row.updated_by_admin_id = actor.id if actor.kind is ActorKind.ADMIN else None
    await session.flush()
    await audit.record(
        session,
        actor,
        "setting.update",
        "setting",
        key,
        before={"value": before},
        after={"value": checked},
    )
    return checked
