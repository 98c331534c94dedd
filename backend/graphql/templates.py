"""Message templates in the admin API: the texts the bots send, and their placeholders."""

import datetime as dt

import strawberry
from strawberry.types import Info

from backend.domain import models as m
from backend.domain import template_admin
from backend.graphql.mapping import copied
from backend.graphql.permissions import allow
from backend.graphql.scalars import ParseMode, to_api, to_domain


@strawberry.type(description="A text a bot sends; {name} placeholders are filled in on sending.")
class Template:
    id: int
    key: str
    text: str
    parse_mode: ParseMode
    description: str | None
    updated_at: dt.datetime
    placeholders: list[str] = strawberry.field(
        description="The placeholders this key's text may use; [] for keys Dvorik does not ship."
    )

    @classmethod
    def of(cls, row: m.Template) -> "Template":
        return copied(
            cls,
            row,
            parse_mode=to_api(ParseMode, row.parse_mode),
            placeholders=template_admin.placeholders(row.key),
        )


@strawberry.type
class TemplateQueries:
    @strawberry.field(permission_classes=allow("Query.templates"), description="By key.")
    async def templates(self, info: Info) -> list[Template]:
        session = await info.context.session()
        return [Template.of(row) for row in await template_admin.list_all(session)]


@strawberry.type
class TemplateMutations:
    @strawberry.mutation(
        permission_classes=allow("Mutation.createTemplate"),
        description="Key: 1 to 64 of a-z, 0-9 and _; an existing key is CONFLICT.",
    )
    async def create_template(
        self,
        info: Info,
        key: str,
        text: str,
        parse_mode: ParseMode = ParseMode.PLAIN,
        description: str | None = None,
    ) -> Template:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            row = await template_admin.create(
                session,
                key,
                text,
                actor=actor,
                parse_mode=to_domain(m.ParseMode, parse_mode),
                description=description,
            )
        return Template.of(row)

    @strawberry.mutation(
        permission_classes=allow("Mutation.updateTemplate"),
        description='Changes what is given; "" clears the description.',
    )
    async def update_template(
        self,
        info: Info,
        key: str,
        text: str | None = None,
        parse_mode: ParseMode | None = None,
        description: str | None = None,
    ) -> Template:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            row = await template_admin.update(
                session,
                key,
                actor=actor,
                text=text,
                parse_mode=to_domain(m.ParseMode, parse_mode),
                description=description,
            )
        return Template.of(row)

    @strawberry.mutation(
        permission_classes=allow("Mutation.deleteTemplate"),
        description="Templates Dvorik ships cannot be deleted (CONFLICT); edit them instead.",
    )
    async def delete_template(self, info: Info, key: str) -> bool:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            await template_admin.delete(session, key, actor=actor)
        return True


ROOTS = {"query": TemplateQueries, "mutation": TemplateMutations}
