"""Shop settings an owner changes at run time: percents, validity, send rate.

Each setting is declared once in `SPECS` with its type, bounds and default;
the database keeps only overrides. Reading returns defaults merged with
overrides; writing validates, stores and leaves an audit line.

Settings are validated by meaning, not only by type: the bots act on them, and
one bad value (a 100,000-character "channel") once broke every /start. Every
string setting has a `TextRule` (length and shape), and the subscription
channel is also asked of Telegram when set (`channels.ChannelLookup`). A
stored value that no longer passes its rule (stored before the rule existed)
reads as the default, so the bots never act on it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import audit
from backend.domain.audit import Actor
from backend.domain.channels import (
    MAX_LENGTH,
    SHAPE,
    ChannelLookup,
    ChannelLookupFailed,
    shape_problem,
)
from backend.domain.errors import InvalidSetting
from backend.domain.models import ActorKind, DiscountKind, ShopSetting

log = logging.getLogger("dvorik.domain.shop_settings")

_SNAPSHOT = "dvorik_shop_settings"  # session.info: (the transaction, its stored overrides)
CLOCK_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


def clock_time_problem(value: str) -> str | None:
    """Quiet hours are written as a shop clock shows them: HH:MM, 00:00 to 23:59."""
    if CLOCK_TIME.fullmatch(value) is None:
        return "write the time as HH:MM, from 00:00 to 23:59 (e.g. 22:00)"
    return None


@dataclass(frozen=True)
class TextRule:
    """What a string setting may hold: its length, and its shape in words.

    `problem` says why a non-empty value has the wrong shape (None: right);
    `names_channel` values are also looked up in Telegram when set.
    """

    max_length: int
    problem: Callable[[str], str | None]
    may_be_empty: bool = False
    names_channel: bool = False


@dataclass(frozen=True)
class SettingSpec:
    key: str
    type: type[int] | type[bool] | type[str]
    default: int | bool | str
    description: str
    minimum: int | None = None
    maximum: int | None = None
    text: TextRule | None = None

    def __post_init__(self) -> None:
        if (self.type is str) != (self.text is not None):
            raise TypeError(f"{self.key}: a string setting needs a TextRule, others none")

    def validate(self, value: Any) -> int | bool | str:
        if self.type is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidSetting(
                    f"{self.key} must be a whole number", key=self.key, reason="type"
                )
            if self.minimum is not None and value < self.minimum:
                raise InvalidSetting(
                    f"{self.key} must be at least {self.minimum}", key=self.key, reason="range"
                )
            if self.maximum is not None and value > self.maximum:
                raise InvalidSetting(
                    f"{self.key} must be at most {self.maximum}", key=self.key, reason="range"
                )
            return value
        if not isinstance(value, self.type):
            raise InvalidSetting(
                f"{self.key} must be a {self.type.__name__}", key=self.key, reason="type"
            )
        if self.text is not None and isinstance(value, str):
            return self._text(value, self.text)
        return value

    def _text(self, value: str, rule: TextRule) -> str:
        if len(value) > rule.max_length:
            raise InvalidSetting(
                f"{self.key} must be at most {rule.max_length} characters, not {len(value)}",
                key=self.key,
                reason="too_long",
            )
        value = value.strip()
        if not value:
            if rule.may_be_empty:
                return value
            raise InvalidSetting(f"{self.key} must not be empty", key=self.key, reason="empty")
        problem = rule.problem(value)
        if problem is not None:
            raise InvalidSetting(f"{self.key}: {problem}", key=self.key, reason="shape")
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
            "Telegram channel a customer must join to get the subscription discount: "
            f"{SHAPE}, checked with Telegram when set; empty: no channel needed",
            text=TextRule(MAX_LENGTH, shape_problem, may_be_empty=True, names_channel=True),
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
        SettingSpec(
            "quiet_hours_start",
            str,
            "22:00",
            "From this time (HH:MM, in the shop's time zone) no notice goes to customers: "
            "a discount given later waits until quiet_hours_end; equal to it: no quiet hours",
            text=TextRule(5, clock_time_problem),
        ),
        SettingSpec(
            "quiet_hours_end",
            str,
            "09:00",
            "Until this time (HH:MM, in the shop's time zone) notices to customers wait",
            text=TextRule(5, clock_time_problem),
        ),
    )
}


def spec_for(key: str) -> SettingSpec:
    try:
        return SPECS[key]
    except KeyError:
        raise InvalidSetting(f"unknown setting {key!r}", key=key, reason="unknown") from None


async def get_all(session: AsyncSession) -> dict[str, int | bool | str]:
    """Every setting's current value: defaults overlaid with stored overrides."""
    values: dict[str, int | bool | str] = {key: spec.default for key, spec in SPECS.items()}
    for key, stored in (await _stored(session)).items():
        if key in SPECS:
            values[key] = _in_effect(SPECS[key], stored)
    return values


async def get(session: AsyncSession, key: str) -> Any:
    spec = spec_for(key)
    stored = await _stored(session)
    return _in_effect(spec, stored[key]) if key in stored else spec.default


async def _stored(session: AsyncSession) -> dict[str, Any]:
    """The stored overrides, read once per transaction in one statement.

    A /start reads two settings and a notice two more; each was a statement of
    its own (issue 19). The table holds a few dozen short rows. A transaction
    keeps its own copy, so what another one commits meanwhile is seen by the
    next transaction, as before at READ COMMITTED; `set_value` drops the copy.
    """
    snapshot = session.info.get(_SNAPSHOT)
    transaction = session.sync_session.get_transaction()
    if snapshot is not None and transaction is not None and snapshot[0] is transaction:
        return cast(dict[str, Any], snapshot[1])
    rows = await session.execute(select(ShopSetting.key, ShopSetting.value))
    stored = {str(key): value for key, value in rows}
    session.info[_SNAPSHOT] = (session.sync_session.get_transaction(), stored)
    return stored


def _in_effect(spec: SettingSpec, stored: Any) -> int | bool | str:
    """A stored value as the shop uses it: the default if it breaks today's rules."""
    try:
        return spec.validate(stored)
    except InvalidSetting as error:
        log.warning("stored setting ignored, its default applies: %s", error.message)
        return spec.default


async def get_int(session: AsyncSession, key: str) -> int:
    value = await get(session, key)
    assert isinstance(value, int)
    return value


async def set_value(
    session: AsyncSession,
    key: str,
    value: Any,
    actor: Actor,
    *,
    channels: ChannelLookup | None = None,
) -> Any:
    """Validate and store one setting; the previous value goes to the audit log.

    A channel is looked up with `channels` before the session runs anything, so
    no database connection waits on Telegram; without `channels` none can be set.
    """
    spec = spec_for(key)
    checked = spec.validate(value)
    if spec.text is not None and spec.text.names_channel and checked:
        await _confirm_channel(key, str(checked), channels)
    session.info.pop(_SNAPSHOT, None)  # the next read sees this write
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


async def _confirm_channel(key: str, channel: str, lookup: ChannelLookup | None) -> None:
    """Refuse a channel Telegram does not show the customer bot."""
    if lookup is None:
        raise InvalidSetting(
            f"{key}: {channel} cannot be checked with Telegram: the customer bot is not "
            "configured (TELEGRAM_BOT_TOKEN)",
            key=key,
            reason="unchecked",
        )
    try:
        found = await lookup.find_channel(channel)
    except ChannelLookupFailed as error:
        raise InvalidSetting(
            f"{key}: could not ask Telegram about {channel} ({error}); try again",
            key=key,
            reason="unchecked",
        ) from None
    if found is None:
        raise InvalidSetting(
            f"{key}: Telegram knows no channel {channel} that the customer bot can see",
            key=key,
            reason="not_found",
        )
