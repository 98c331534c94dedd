"""Texts customers read come from templates, with their placeholders checked."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import markup, template_admin, templates
from backend.domain.audit import Actor
from backend.domain.errors import InvalidMarkup, InvalidTemplate
from backend.domain.models import AuditEntry, ParseMode, Template
from backend.domain.templates import Rendered

MARKETER = Actor.system("test")


async def test_defaults_are_seeded_once_and_edits_survive(session: AsyncSession) -> None:
    added = await templates.ensure_defaults(session)
    assert added == len(templates.defaults())
    welcome = await session.scalar(select(Template).where(Template.key == "welcome"))
    assert welcome is not None
    welcome.text = "Привет, {first_name}!"
    await session.flush()

    assert await templates.ensure_defaults(session) == 0
    assert await templates.render(session, "welcome", first_name="Маша") == "Привет, Маша!"


async def test_rendering_fills_placeholders_in_russian(session: AsyncSession) -> None:
    text = await templates.render(
        session,
        "welcome_discount",
        first_name="Маша",
        percent=10,
        code="ABCD2345",
        expires_on="25.12.2026",
    )
    assert "Маша" in text and "10%" in text and "ABCD2345" in text


def test_every_default_uses_only_its_placeholders() -> None:
    for key, default in templates.defaults().items():
        templates.validate_text(key, default.text)
        assert templates.placeholders_in(default.text) <= default.placeholders


@pytest.mark.parametrize(
    "text", ["Скидка {percent}% для {fullname}", "Сломано {", "{0} позиционный", "   "]
)
def test_bad_template_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidTemplate):
        templates.validate_text("welcome_discount", text)


# --- Markup: checked when saved, values escaped when sent ----------------------------------


async def test_an_html_template_escapes_what_it_is_filled_with(session: AsyncSession) -> None:
    await template_admin.update(
        session,
        "welcome",
        actor=MARKETER,
        text="<b>Здравствуйте, {first_name}!</b>",
        parse_mode=ParseMode.HTML,
    )

    rendered = await templates.render_message(session, "welcome", first_name="<Маша & Ко>")

    assert rendered == Rendered("<b>Здравствуйте, &lt;Маша &amp; Ко&gt;!</b>", ParseMode.HTML)
    assert rendered.telegram_parse_mode == "HTML"
    assert rendered.plain == "Здравствуйте, <Маша & Ко>!"
    assert await templates.render(session, "welcome", first_name="Ко") == "Здравствуйте, Ко!"


def test_a_markdown_v2_template_escapes_values_and_nested_templates_go_in_as_read() -> None:
    status = Rendered("<i>включены</i>", ParseMode.HTML)
    rendered = templates.render_text(
        "*{first_name}*, рассылки: {status}\\.",
        ParseMode.MARKDOWN_V2,
        {"first_name": "Маша_[Ко].", "status": status},
    )

    assert rendered.text == "*Маша\\_\\[Ко\\]\\.*, рассылки: включены\\."
    assert rendered.plain == "Маша_[Ко]., рассылки: включены."


@pytest.mark.parametrize(
    ("text", "mode", "message", "where"),
    [
        (
            "Привет, {first_name}! <b>Скидка",
            ParseMode.HTML,
            "HTML: tag <b> opened at line 1, column 23 is never closed",
            {"offset": 22, "line": 1, "column": 23},
        ),
        (
            "{first_name}, <a href={code}>ваш код</a>",
            ParseMode.HTML,
            "href of tag <a> at line 1, column 23 (in the value of {code}) must be in quotes",
            {"offset": 22, "line": 1, "column": 23, "placeholder": "code"},
        ),
        (
            "<{first_name}>",
            ParseMode.HTML,
            "HTML: tag <{first_name}> at line 1, column 1 is not supported",
            {"offset": 0, "line": 1, "column": 1},
        ),
        (
            "Скидка {percent}%\n_{first_name}_",
            ParseMode.MARKDOWN_V2,
            "MarkdownV2: underline opened with '__' at line 2, column 1 is never closed",
            {"offset": 18, "line": 2, "column": 1},
        ),
        (
            "Привет \\{first_name}",
            ParseMode.MARKDOWN_V2,
            "MarkdownV2: the backslash at line 1, column 8 would escape the first character of"
            " {first_name}",
            {"offset": 7, "line": 1, "column": 8},
        ),
        (
            "{first_name}>цитата",
            ParseMode.MARKDOWN_V2,
            "MarkdownV2: '>' at line 1, column 13 is reserved",
            {"offset": 12, "line": 1, "column": 13},
        ),
        (
            "{first_name}, скидка {percent}%!",
            ParseMode.MARKDOWN_V2,
            "MarkdownV2: '!' at line 1, column 32 is reserved",
            {"offset": 31, "line": 1, "column": 32},
        ),
    ],
)
def test_markup_is_checked_with_any_values_and_the_error_points_into_the_template(
    text: str, mode: ParseMode, message: str, where: dict[str, int]
) -> None:
    """Placeholders are filled with markup-special characters, and with nothing at all."""
    with pytest.raises(InvalidMarkup) as caught:
        templates.check_markup(text, mode)

    assert message in caught.value.message
    assert {key: caught.value.details[key] for key in where} == where


def test_a_placeholder_inside_markup_is_named_in_the_error() -> None:
    with pytest.raises(InvalidMarkup) as caught:
        templates.check_markup("<b {first_name}>жирный</b>", ParseMode.HTML)

    assert caught.value.message == (
        "HTML: attribute {first_name} of tag <b> at line 1, column 4"
        ' (in the value of {first_name}) needs a value: name="…"'
    )
    assert caught.value.details["placeholder"] == "first_name"
    assert caught.value.details["column"] == 4


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("<b>{first_name}</b>, код <code>{code}</code> до {expires_on}", ParseMode.HTML),
        ('<a href="https://dvorik.shop/?who={first_name}">сайт</a>', ParseMode.HTML),
        ("*{first_name}*, код `{code}` до {expires_on}\\.", ParseMode.MARKDOWN_V2),
        (">*{first_name}*\n>{code}||", ParseMode.MARKDOWN_V2),
        ("Просто текст: 5 > 4 & *", ParseMode.PLAIN),
    ],
)
def test_markup_that_holds_for_any_value_is_accepted(text: str, mode: ParseMode) -> None:
    templates.check_markup(text, mode)


def test_markup_that_shows_nothing_is_refused() -> None:
    with pytest.raises(InvalidMarkup, match="shows nothing once its markup is removed"):
        templates.check_markup("<b> </b>", ParseMode.HTML)


async def test_switching_a_stored_text_to_a_parse_mode_it_breaks_is_refused(
    session: AsyncSession,
) -> None:
    """The shipped help ends sentences with '.', which MarkdownV2 reserves."""
    with pytest.raises(InvalidMarkup, match=r"MarkdownV2: '\.' at line"):
        await template_admin.update(
            session, "help", actor=MARKETER, parse_mode=ParseMode.MARKDOWN_V2
        )
    with pytest.raises(InvalidMarkup, match="HTML: tag <b> opened"):
        await template_admin.create(
            session, "spring", "<b>Весна", actor=MARKETER, parse_mode=ParseMode.HTML
        )

    assert list(await session.scalars(select(Template))) == []
    assert list(await session.scalars(select(AuditEntry))) == []


async def test_a_stored_text_telegram_would_refuse_goes_out_as_plain_text(
    session: AsyncSession,
) -> None:
    """Saved before markup was checked: the customer sees the tags, but gets the message."""
    session.add(Template(key="welcome", text="<b>Привет, {first_name}", parse_mode=ParseMode.HTML))
    await session.flush()

    rendered = await templates.render_message(session, "welcome", first_name="<Маша>")

    assert rendered == Rendered("<b>Привет, <Маша>", ParseMode.PLAIN)


TOKENS = {
    ParseMode.HTML: [
        "<b>", "</b>", "<i>", "</i>", "<code>", "</code>", '<a href="', '">', "</a>",
        "<blockquote>", "</blockquote>", "&amp;", "&", "<", ">", "=", '"', " ", "\n", "x",
    ],
    ParseMode.MARKDOWN_V2: [
        "*", "_", "__", "~", "||", "`", "```", "[", "](", ")", "![", ">", "\\", "\\.", "\n",
        " ", "x", "!", "tg://emoji?id=1",
    ],
}  # fmt: skip


@st.composite
def template_texts(draw: st.DrawFn, mode: ParseMode) -> str:
    pieces = st.one_of(st.sampled_from(TOKENS[mode]), st.sampled_from(["{first_name}", "{code}"]))
    return "".join(draw(st.lists(pieces, max_size=12)))


@settings(max_examples=1000)
@given(st.data(), st.sampled_from([ParseMode.HTML, ParseMode.MARKDOWN_V2]))
def test_a_text_that_passed_the_check_is_valid_whatever_the_values(
    data: st.DataObject, mode: ParseMode
) -> None:
    """The checked samples stand for every value: a send never meets broken markup."""
    text = data.draw(template_texts(mode))
    try:
        templates.check_markup(text, mode)
    except InvalidMarkup:
        return
    values = data.draw(st.fixed_dictionaries({"first_name": st.text(), "code": st.text()}))

    markup.validate(templates.fill_escaped(text, values, mode), mode)
