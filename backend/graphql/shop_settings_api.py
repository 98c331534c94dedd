"""Shop settings in the admin API: every setting with its bounds; owners change them."""

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from backend.domain import shop_settings
from backend.domain.channels import ChannelLookup
from backend.graphql.permissions import allow
from backend.telegram.channels import TelegramChannels

# JSON Schema's names, so the SPA can pick an input for each setting.
TYPE_NAMES = {int: "integer", bool: "boolean", str: "string"}


@strawberry.type(description="A setting: its current value, its default and its bounds.")
class Setting:
    key: str
    value: JSON
    default: JSON
    description: str
    type: str = strawberry.field(description='"integer", "boolean" or "string".')
    minimum: int | None
    maximum: int | None
    max_length: int | None = strawberry.field(
        description="For strings: the most characters; the description says the shape."
    )

    @classmethod
    def of(cls, spec: shop_settings.SettingSpec, value: object) -> "Setting":
        return cls(
            key=spec.key,
            value=JSON(value),
            default=JSON(spec.default),
            description=spec.description,
            type=TYPE_NAMES[spec.type],
            minimum=spec.minimum,
            maximum=spec.maximum,
            max_length=spec.text.max_length if spec.text else None,
        )


@strawberry.type
class SettingQueries:
    @strawberry.field(permission_classes=allow("Query.settings"))
    async def settings(self, info: Info) -> list[Setting]:
        session = await info.context.session()
        values = await shop_settings.get_all(session)
        return [Setting.of(spec, values[key]) for key, spec in shop_settings.SPECS.items()]


@strawberry.type
class SettingMutations:
    @strawberry.mutation(
        permission_classes=allow("Mutation.updateSetting"),
        description="INVALID_SETTING, changing nothing, for an unknown key or a value of the "
        "wrong type, out of bounds, too long, of the wrong shape, or a channel Telegram does "
        "not show the customer bot; `reason` says which: unknown, type, range, too_long, empty, "
        "shape, not_found, unchecked (Telegram could not be asked).",
    )
    async def update_setting(self, info: Info, key: str, value: JSON) -> Setting:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            stored = await shop_settings.set_value(
                session, key, value, actor, channels=_channels(info)
            )
        return Setting.of(shop_settings.spec_for(key), stored)


def _channels(info: Info) -> ChannelLookup | None:
    """Channels are looked up as the customer bot, which checks them at /start."""
    bots = info.context.runtime.bots
    return TelegramChannels(bots.customer.bot) if bots is not None else None


ROOTS = {"query": SettingQueries, "mutation": SettingMutations}
