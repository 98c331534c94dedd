"""Marketers edit the texts the bots send; placeholders are checked before anything is saved."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import templates
from backend.domain.models import AdminRole, AuditEntry, Template
from tests.api import GraphQLClient

FIELDS = "id key text parseMode description updatedAt placeholders"
LIST = f"{{ templates {{ {FIELDS} }} }}"
CREATE = f"""
mutation($key: String!, $text: String!, $parseMode: ParseMode, $description: String) {{
  createTemplate(key: $key, text: $text, parseMode: $parseMode, description: $description) {{
    {FIELDS}
  }}
}}
"""
UPDATE = f"""
mutation($key: String!, $text: String, $parseMode: ParseMode, $description: String) {{
  updateTemplate(key: $key, text: $text, parseMode: $parseMode, description: $description) {{
    {FIELDS}
  }}
}}
"""
DELETE = "mutation($key: String!) { deleteTemplate(key: $key) }"
WELCOME_DISCOUNT = "{first_name}, ваша скидка {percent}% — код {code} до {expires_on}."


async def _audit(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, str | None]]:
    async with sessions() as session:
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.entity_id).order_by(AuditEntry.id)
        )
        return [(action, entity_id) for action, entity_id in rows]


async def test_marketer_edits_a_shipped_text_and_manages_own_ones(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    marketer = staff[AdminRole.MARKETING]
    assert (await marketer(LIST)).data == {"templates": []}

    edited = await marketer(UPDATE, key="welcome_discount", text=WELCOME_DISCOUNT)
    template = edited.data["updateTemplate"]
    assert template["text"] == WELCOME_DISCOUNT
    assert template["parseMode"] == "PLAIN"
    assert template["description"] == templates.defaults()["welcome_discount"].description
    assert template["placeholders"] == ["code", "expires_on", "first_name", "percent"]
    async with sessions() as session:
        rendered = await templates.render(
            session,
            "welcome_discount",
            first_name="Маша",
            percent=10,
            code="AB12",
            expires_on="1.4",
        )
    assert rendered == "Маша, ваша скидка 10% — код AB12 до 1.4."

    created = await marketer(
        CREATE,
        key="spring_sale",
        text="<b>{first_name}</b>, весенняя распродажа!",
        parseMode="HTML",
        description="  Весна  ",
    )
    spring = created.data["createTemplate"]
    assert (spring["key"], spring["parseMode"], spring["description"]) == (
        "spring_sale",
        "HTML",
        "Весна",
    )
    assert spring["placeholders"] == []

    cleared = await marketer(UPDATE, key="spring_sale", description="", parseMode="PLAIN")
    assert cleared.data["updateTemplate"]["description"] is None
    assert cleared.data["updateTemplate"]["text"] == spring["text"]
    listed = (await marketer(LIST)).data["templates"]
    assert [item["key"] for item in listed] == ["spring_sale", "welcome_discount"]

    assert (await marketer(DELETE, key="spring_sale")).data == {"deleteTemplate": True}
    assert (await marketer(DELETE, key="spring_sale")).error_code == "NOT_FOUND"
    assert (await marketer(UPDATE, key="spring_sale", text="x")).error_code == "NOT_FOUND"
    assert await _audit(sessions) == [
        ("template.update", "welcome_discount"),
        ("template.create", "spring_sale"),
        ("template.update", "spring_sale"),
        ("template.delete", "spring_sale"),
    ]


async def test_unknown_placeholder_is_refused_and_nothing_is_saved(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    marketer = staff[AdminRole.MARKETING]

    response = await marketer(
        UPDATE, key="welcome_discount", text="Скидка {percent}% для {fullname}"
    )
    assert response.error_code == "INVALID_TEMPLATE"
    assert "{fullname}" in response.body["errors"][0]["message"]
    assert response.body["errors"][0]["extensions"]["key"] == "welcome_discount"
    for text in ("Сломано {", "{0} позиционный", "   "):
        assert (await marketer(CREATE, key="promo_x", text=text)).error_code == "INVALID_TEMPLATE"
    too_long = await marketer(CREATE, key="promo_x", text="я" * 4097)
    assert too_long.error_code == "INVALID_TEMPLATE"

    async with sessions() as session:
        assert list(await session.scalars(select(Template))) == []
    assert await _audit(sessions) == []


async def test_keys_are_checked_and_shipped_texts_cannot_be_deleted(
    staff: dict[AdminRole, GraphQLClient],
) -> None:
    marketer = staff[AdminRole.MARKETING]
    await marketer(CREATE, key="spring_sale", text="Весна!")

    assert (await marketer(CREATE, key="spring_sale", text="Ещё")).error_code == "CONFLICT"
    shipped = await marketer(CREATE, key="welcome", text="Привет, {first_name}!")
    assert shipped.data["createTemplate"]["placeholders"] == ["first_name"]
    assert (await marketer(CREATE, key="welcome", text="Привет")).error_code == "CONFLICT"
    for key in ("", "Spring", "весна", "spring-sale", "a" * 65):
        assert (await marketer(CREATE, key=key, text="Весна!")).error_code == "VALIDATION", key
    assert (await marketer(DELETE, key="welcome")).error_code == "CONFLICT"
    assert (await marketer(DELETE, key="birthday_discount")).error_code == "CONFLICT"
    assert (await marketer(DELETE, key="no_such_key")).error_code == "NOT_FOUND"


async def test_readonly_reads_templates_but_cannot_change_them(
    staff: dict[AdminRole, GraphQLClient], graphql: GraphQLClient
) -> None:
    await staff[AdminRole.MARKETING](CREATE, key="spring_sale", text="Весна!")
    readonly = staff[AdminRole.READONLY]

    assert [item["key"] for item in (await readonly(LIST)).data["templates"]] == ["spring_sale"]
    refused = [
        await readonly(CREATE, key="autumn", text="Осень!"),
        await readonly(UPDATE, key="spring_sale", text="Осень!"),
        await readonly(DELETE, key="spring_sale"),
    ]
    assert [response.error_code for response in refused] == ["FORBIDDEN"] * 3
    assert (await graphql(LIST)).error_code == "UNAUTHENTICATED"
