"""Marketers edit the texts the bots send; placeholders are checked before anything is saved."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import cashiers, templates
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.models import AdminRole, AuditEntry, ParseMode, Template
from backend.fake_telegram import FakeUser
from tests.api import GraphQLClient
from tests.telegram_world import CASHIER_TOKEN, CUSTOMER_TOKEN, Telegram, fresh, telegram_world

__all__ = ["telegram_world"]

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


# --- Markup (issue 12) ----------------------------------------------------------------------


async def test_markup_telegram_would_refuse_is_invalid_markup_saying_where(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Before: stored, and the bots sent the tags as they were."""
    marketer = staff[AdminRole.MARKETING]
    await marketer(CREATE, key="spring_sale", text="Весна пришла!")

    unclosed = await marketer(
        CREATE, key="autumn", text="Осень, {first_name}:\n<b>скидки", parseMode="HTML"
    )
    in_a_tag = await marketer(
        UPDATE, key="welcome", text="<a href={first_name}>Привет</a>", parseMode="HTML"
    )
    switched = await marketer(UPDATE, key="spring_sale", parseMode="MARKDOWN_V2")

    assert unclosed.error_code == "INVALID_MARKUP"
    assert unclosed.body["errors"][0]["message"] == (
        "HTML: tag <b> opened at line 2, column 1 is never closed"
    )
    assert unclosed.body["errors"][0]["extensions"] == {
        "code": "INVALID_MARKUP",
        "offset": 21,
        "line": 2,
        "column": 1,
    }
    assert in_a_tag.error_code == "INVALID_MARKUP"
    assert in_a_tag.body["errors"][0]["extensions"]["placeholder"] == "first_name"
    assert (
        "(in the value of {first_name}) must be in quotes" in in_a_tag.body["errors"][0]["message"]
    )
    assert switched.error_code == "INVALID_MARKUP"
    assert "'!' at line 1, column 13 is reserved" in switched.body["errors"][0]["message"]
    async with sessions() as session:
        stored = await session.scalars(select(Template))
        assert [(t.key, t.text, t.parse_mode) for t in stored] == [
            ("spring_sale", "Весна пришла!", ParseMode.PLAIN)
        ]
    assert await _audit(sessions) == [("template.create", "spring_sale")]


_people = itertools.count(6_100_001)


@pytest.fixture
async def telegram(
    telegram_world: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> Telegram:
    return await fresh(telegram_world)


@pytest.mark.parametrize(
    ("parse_mode", "text", "name"),
    [
        ("HTML", "<b>Здравствуйте, {first_name}!</b> Добро пожаловать 🍬", "<Маша & Ко>"),
        ("MARKDOWN_V2", "*Здравствуйте, {first_name}\\!* Добро пожаловать 🍬", "Маша_*[Ко]*."),
    ],
)
async def test_a_template_saved_with_a_parse_mode_reaches_the_customer_formatted(
    staff: dict[AdminRole, GraphQLClient],
    telegram: Telegram,
    parse_mode: str,
    text: str,
    name: str,
) -> None:
    """Before: sent without a parse mode, the customer read the tags as they were."""
    saved = await staff[AdminRole.MARKETING](UPDATE, key="welcome", text=text, parseMode=parse_mode)
    assert saved.data["updateTemplate"]["parseMode"] == parse_mode
    telegram.dvorik.runtime.texts.invalidate()  # the bots re-read texts every 30 s
    customer = FakeUser(id=next(_people), first_name=name)

    await telegram.fake.send_text(CUSTOMER_TOKEN, customer, "/start")

    greeting = telegram.fake.messages_to(customer.id, token=CUSTOMER_TOKEN)[0]
    assert greeting.message_id is not None
    seen = telegram.fake.chats.message(CUSTOMER_TOKEN, customer.id, greeting.message_id)
    assert seen is not None
    bold = f"Здравствуйте, {name}!"
    assert seen["text"] == f"{bold} Добро пожаловать 🍬"
    assert seen["entities"] == [{"type": "bold", "offset": 0, "length": len(bold)}]
    assert greeting.params["parse_mode"] == ("HTML" if parse_mode == "HTML" else "MarkdownV2")


async def test_the_cashier_bot_sends_its_templates_in_their_parse_mode(
    staff: dict[AdminRole, GraphQLClient],
    telegram: Telegram,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    text = "Добро пожаловать, <b>{name}</b>! Магазин: {store}."
    saved = await staff[AdminRole.MARKETING](
        UPDATE, key="cashier_welcome", text=text, parseMode="HTML"
    )
    assert saved.data["updateTemplate"]["parseMode"] == "HTML"
    telegram.dvorik.runtime.texts.invalidate()
    async with sessions() as session, session.begin():
        _, invite = await cashiers.invite(
            session, "Оля <старшая>", "Светланская & Ко", actor=Actor.system(), now=utcnow()
        )
    person = FakeUser(id=next(_people), first_name="Оля")

    await telegram.fake.send_text(CASHIER_TOKEN, person, f"/start {invite.lower()}")

    welcome = telegram.fake.messages_to(person.id, token=CASHIER_TOKEN)[-1]
    assert welcome.message_id is not None and welcome.params["parse_mode"] == "HTML"
    seen = telegram.fake.chats.message(CASHIER_TOKEN, person.id, welcome.message_id)
    assert seen is not None
    assert seen["text"] == "Добро пожаловать, Оля <старшая>! Магазин: Светланская & Ко."
    start = len("Добро пожаловать, ")
    assert seen["entities"] == [{"type": "bold", "offset": start, "length": len("Оля <старшая>")}]
