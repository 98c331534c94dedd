"""Shop settings in the admin API: every setting with its bounds; owners change them."""

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from backend.domain import shop_settings
from backend.graphql.permissions import allow

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
        description="A value of the wrong type or out of bounds is INVALID_SETTING.",
    )
    async def update_setting(self, info: Info, key: str, value: JSON) -> Setting:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            stored = await shop_settings.set_value(session, key, value, actor)
        return Setting.of(shop_settings.spec_for(key), stored)


ROOTS = {"query": SettingQueries, "mutation": SettingMutations}
