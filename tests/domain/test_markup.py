"""Telegram's formatting rules: what a reader sees of a text, or where its markup is broken.

The same parser checks broadcasts and templates before they are stored and
answers for the fake Bot API, so these examples are what a marketer meets in
the admin UI and what a test meets when a bot sends bad markup.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.domain import markup
from backend.domain.errors import ErrorCode, InvalidMarkup
from backend.domain.models import ParseMode

HTML, MD = ParseMode.HTML, ParseMode.MARKDOWN_V2


def seen(text: str, mode: ParseMode) -> tuple[str, list[tuple[Any, ...]]]:
    """The visible text and its entities as (type, offset, length[, argument])."""
    formatted = markup.parse(text, mode)
    entities = []
    for entity in formatted.entities:
        argument = entity.url or entity.language or entity.custom_emoji_id
        row = (entity.type, entity.offset, entity.length)
        entities.append((*row, argument) if argument else row)
    return formatted.text, entities


def refusal(text: str, mode: ParseMode) -> InvalidMarkup:
    with pytest.raises(InvalidMarkup) as caught:
        markup.parse(text, mode)
    return caught.value


# --- HTML ---------------------------------------------------------------------------------


def test_an_unclosed_tag_is_refused_with_where_it_was_opened() -> None:
    error = refusal("Скидка <b>20% на всё", HTML)

    assert error.code is ErrorCode.INVALID_MARKUP
    assert error.message == "HTML: tag <b> opened at line 1, column 8 is never closed"
    assert error.details == {"offset": 7, "line": 1, "column": 8}


def test_a_position_counts_lines_and_columns_in_characters() -> None:
    error = refusal("Привет!\nВесна <i>в <b>Дворике</i></b>", HTML)

    assert error.message == (
        "HTML: closing tag </i> at line 2, column 22 does not match <b> opened at line 2, column 12"
    )
    assert (error.details["line"], error.details["column"], error.details["offset"]) == (2, 22, 29)


@pytest.mark.parametrize(
    ("text", "visible", "entities"),
    [
        ("Привет, <b>Маша</b>!", "Привет, Маша!", [("bold", 8, 4)]),
        (
            "<strong>a</strong><i>b</i><em>c</em><u>d</u><ins>e</ins><s>f</s><strike>g</strike>"
            "<del>h</del>",
            "abcdefgh",
            [
                ("bold", 0, 1),
                ("italic", 1, 1),
                ("italic", 2, 1),
                ("underline", 3, 1),
                ("underline", 4, 1),
                ("strikethrough", 5, 1),
                ("strikethrough", 6, 1),
                ("strikethrough", 7, 1),
            ],
        ),
        (
            '<span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler>',
            "xy",
            [("spoiler", 0, 1), ("spoiler", 1, 1)],
        ),
        (
            '<a href="https://dvorik.shop/?a=1&amp;b=2">сайт</a>',
            "сайт",
            [("text_link", 0, 4, "https://dvorik.shop/?a=1&b=2")],
        ),
        ("<code>ABCD2345</code>", "ABCD2345", [("code", 0, 8)]),
        (
            '<pre><code class="language-python">print(1)</code></pre>',
            "print(1)",
            [("pre", 0, 8, "python")],
        ),
        ("<blockquote>цитата</blockquote>", "цитата", [("blockquote", 0, 6)]),
        ("<blockquote expandable>ещё</blockquote>", "ещё", [("expandable_blockquote", 0, 3)]),
        (
            '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>!',
            "👍!",
            [("custom_emoji", 0, 2, "5368324170671202286")],
        ),
        ("&lt;Маша &amp; Ко&gt; &quot;&#169;&#xA9;", '<Маша & Ко> "©©', []),
        ("🍬 <B>sweet</B >", "🍬 sweet", [("bold", 3, 5)]),  # UTF-16 offsets; names any case
        ("<b>жир <i>и курсив</i></b>", "жир и курсив", [("bold", 0, 12), ("italic", 4, 8)]),
        ("<b></b>пусто", "пусто", []),
    ],
)
def test_telegrams_html_shows_text_and_entities(
    text: str, visible: str, entities: list[tuple[Any, ...]]
) -> None:
    assert seen(text, HTML) == (visible, entities)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Привет<br>", "HTML: tag <br> at line 1, column 7 is not supported: Telegram knows only"),
        ("<p>абзац</p>", "tag <p> at line 1, column 1 is not supported"),
        ("5 < 6", "'<' at line 1, column 3 does not start a tag: write &lt;"),
        ("5 > 4", "HTML: '>' at line 1, column 3 must be written as &gt;"),
        ("Маша & Ко", "HTML: '&' at line 1, column 6 must be written as &amp;"),
        ("A&B", "unknown entity &B at line 1, column 2: Telegram knows only &lt; &gt; &amp;"),
        ("&nbsp;", "unknown entity &nbsp; at line 1, column 1"),
        ("&lt без точки с запятой", "HTML: entity &lt at line 1, column 1 must end with ';'"),
        ("&#0;", "HTML: entity &#0; at line 1, column 1 is not a character"),
        ("&#12", "numeric entity that is not &#NNN; or &#xHHH;"),
        ("</b>", "HTML: closing tag </b> at line 1, column 1 has no opening tag"),
        ("<b>x</i>", "closing tag </i> at line 1, column 5 does not match <b> opened at line 1"),
        ("<b>x</b", "HTML: closing tag </b at line 1, column 5 is not closed with '>'"),
        ("<b", "HTML: tag <b at line 1, column 1 is not closed with '>'"),
        ("<span>x</span>", 'HTML: tag <span> at line 1, column 1 must have class="tg-spoiler"'),
        ("<tg-emoji>👍</tg-emoji>", "tag <tg-emoji> at line 1, column 1 needs emoji-id"),
        ('<a href="https://x.ru>x</a>', 'href of tag <a> opened with " at line 1, column 9 has no'),
        ("<a href=https://x.ru>x</a>", "attribute href of tag <a> at line 1, column 9 must be in"),
        ("<b bold>x</b>", "HTML: attribute bold of tag <b> at line 1, column 4 needs a value"),
        ("<i>\n\n<b>всё</b>", "HTML: tag <i> opened at line 1, column 1 is never closed"),
    ],
)
def test_html_telegram_would_refuse_is_refused_saying_where(text: str, message: str) -> None:
    assert message in refusal(text, HTML).message


# --- MarkdownV2 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "visible", "entities"),
    [
        ("*bold \\*text*", "bold *text", [("bold", 0, 10)]),
        (
            "_i_ __u__ ~s~ ||sp|| `код`",
            "i u s sp код",
            [
                ("italic", 0, 1),
                ("underline", 2, 1),
                ("strikethrough", 4, 1),
                ("spoiler", 6, 2),
                ("code", 9, 3),
            ],
        ),
        ("*жир _и курсив_*", "жир и курсив", [("bold", 0, 12), ("italic", 4, 8)]),
        (
            "[сайт](https://dvorik.shop/a\\)b)",
            "сайт",
            [("text_link", 0, 4, "https://dvorik.shop/a)b")],
        ),
        ("```python\nprint(1)```", "print(1)", [("pre", 0, 8, "python")]),
        ("`a \\` b \\\\`", "a ` b \\", [("code", 0, 7)]),
        ("Скидка 10%\\! Код: \\{ABC\\}\\.", "Скидка 10%! Код: {ABC}.", []),
        (">Цитата\n>вторая строка\nпосле", "Цитата\nвторая строка\nпосле", [("blockquote", 0, 21)]),
        (
            ">длинная\n>скрытая||\nпосле",
            "длинная\nскрытая\nпосле",
            [("expandable_blockquote", 0, 16)],
        ),
        ("**>сразу\n>вторая||", "сразу\nвторая", [("expandable_blockquote", 0, 12)]),
        (
            "![👍](tg://emoji?id=5368324170671202286)",
            "👍",
            [("custom_emoji", 0, 2, "5368324170671202286")],
        ),
        (
            "___курсив и подчёркнутый_**__",
            "курсив и подчёркнутый",
            [("italic", 0, 21), ("underline", 0, 21)],
        ),
        ("обратная \\щ косая \\", "обратная \\щ косая \\", []),
    ],
)
def test_telegrams_markdown_v2_shows_text_and_entities(
    text: str, visible: str, entities: list[tuple[Any, ...]]
) -> None:
    assert seen(text, MD) == (visible, entities)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Скидка 10%!", "MarkdownV2: '!' at line 1, column 11 is reserved: write \\! to show it"),
        ("До 01.03", "MarkdownV2: '.' at line 1, column 6 is reserved"),
        ("1 + 1 = 2", "'+' at line 1, column 3 is reserved"),
        ("a > b", "'>' at line 1, column 3 is reserved"),
        ("*жирный", "MarkdownV2: bold opened with '*' at line 1, column 1 is never closed"),
        ("_курсив", "italic opened with '_' at line 1, column 1 is never closed"),
        ("```\nкод", "pre opened with '```' at line 1, column 1 is never closed"),
        ("```\na`b```", "'`' at line 2, column 2 inside a pre block must be escaped"),
        ("[сайт](https://x.ru", "the URL of the link opened at line 1, column 1 has no closing"),
        ("![👍](https://x.ru)", "custom emoji at line 1, column 1 needs a URL like tg://emoji"),
        ("![👍]", "custom emoji at line 1, column 1 must be followed by (tg://emoji?id=…)"),
        (">*цитата\nпосле*", "bold opened with '*' at line 1, column 2 is not closed before the"),
        ("| a", "'|' at line 1, column 1 is reserved"),
    ],
)
def test_markdown_v2_telegram_would_refuse_is_refused_saying_where(text: str, message: str) -> None:
    assert message in refusal(text, MD).message


def test_plain_text_is_always_valid_and_shown_as_written() -> None:
    text = "<b>5 > 4 & *1.5*"
    assert markup.parse(text, ParseMode.PLAIN) == markup.Formatted(text)


def test_a_refusal_points_into_the_text_as_written() -> None:
    """A template is checked filled in; the error still names the column the author typed."""
    written = "{first_name}, <b>скидка"
    filled = "Маша, <b>скидка"
    source = markup.Source(
        written, starts=(0, 4), origins=(0, 12), placeholders=("first_name", None)
    )

    error = refusal_with(filled, source)

    assert error.message == "HTML: tag <b> opened at line 1, column 15 is never closed"
    assert error.details["offset"] == 14


def refusal_with(text: str, source: markup.Source) -> InvalidMarkup:
    with pytest.raises(InvalidMarkup) as caught:
        markup.validate(text, HTML, source=source)
    return caught.value


# --- Properties ---------------------------------------------------------------------------

MARKUP_CHARACTERS = [*"<>&;#x/=\"' abiuspre-_*[]()~`|!.{}+\\\n", "<b>", "</b>", "&amp;"]
markupish = st.lists(
    st.one_of(st.sampled_from(MARKUP_CHARACTERS), st.text(max_size=3)), max_size=40
).map("".join)


@given(st.text(), st.sampled_from([HTML, MD]))
def test_an_escaped_value_is_valid_and_reads_exactly_as_given(value: str, mode: ParseMode) -> None:
    assert markup.parse(markup.escape(value, mode), mode) == markup.Formatted(value)


@given(st.one_of(markupish, st.text()), st.sampled_from(list(ParseMode)))
def test_any_text_parses_or_is_refused_with_a_typed_error(text: str, mode: ParseMode) -> None:
    try:
        formatted = markup.parse(text, mode)
    except InvalidMarkup as error:
        assert error.message.startswith(f"{mode.value}: ")
        assert 0 <= error.details["offset"] <= len(text)
        assert error.details["line"] == text.count("\n", 0, error.details["offset"]) + 1
        return
    units = len(formatted.text.encode("utf-16-le")) // 2
    for entity in formatted.entities:
        assert entity.offset >= 0 and entity.length > 0
        assert entity.offset + entity.length <= units


# A tree of nested formatting: (kind, children) or plain text; no kind inside itself,
# which Telegram reads differently (a second '*' closes the first).
KINDS = {
    HTML: {
        "bold": ("<b>", "</b>"),
        "italic": ("<i>", "</i>"),
        "underline": ("<u>", "</u>"),
        "strikethrough": ("<s>", "</s>"),
        "spoiler": ("<tg-spoiler>", "</tg-spoiler>"),
        "code": ("<code>", "</code>"),
    },
    MD: {
        "bold": ("*", "*"),
        "italic": ("_", "_"),
        "underline": ("__", "__"),
        "strikethrough": ("~", "~"),
        "spoiler": ("||", "||"),
        "code": ("`", "`"),
    },
}
words = st.text(min_size=1, max_size=8)


def trees(outer: frozenset[str] = frozenset()) -> st.SearchStrategy[Any]:
    kinds = sorted(set(KINDS[HTML]) - outer - {"code"})
    if "code" in outer or not kinds:
        return words
    return st.one_of(
        words,
        st.sampled_from([*kinds, "code"]).flatmap(
            lambda kind: st.tuples(
                st.just(kind), st.lists(trees(outer | {kind}), min_size=1, max_size=3)
            )
        ),
    )


def written(
    tree: Any, mode: ParseMode, found: list[tuple[str, int, int]], at: int
) -> tuple[str, str]:
    """The tree as markup, and what a reader sees; entities found are added to `found`."""
    if isinstance(tree, str):
        return markup.escape(tree, mode), tree
    kind, children = tree
    opening, closing = KINDS[mode][kind]
    if kind == "code":  # no formatting inside code: its children are plain text
        seen_text = plain(tree)
        found.append((kind, at, len(seen_text)))
        return opening + markup.escape(seen_text, mode) + closing, seen_text
    # Letters around the children keep markers apart (`___` would read differently).
    text, seen_text = opening + "a", "a"
    for child in children:
        child_text, child_seen = written(child, mode, found, at + len(seen_text))
        text, seen_text = text + child_text + "z", seen_text + child_seen + "z"
    found.append((kind, at, len(seen_text)))
    return text + closing, seen_text


def plain(tree: Any) -> str:
    if isinstance(tree, str):
        return tree
    return "a" + "z".join(plain(child) for child in tree[1]) + "z"


@settings(max_examples=200)
@given(st.lists(trees(), min_size=1, max_size=4), st.sampled_from([HTML, MD]))
def test_nested_formatting_reads_as_it_was_built(forest: list[Any], mode: ParseMode) -> None:
    found: list[tuple[str, int, int]] = []
    text, expected = "", ""
    for tree in forest:
        tree_text, tree_seen = written(tree, mode, found, len(expected))
        text, expected = text + tree_text + " ", expected + tree_seen + " "

    formatted = markup.parse(text, mode)

    assert formatted.text == expected
    utf16 = [len(expected[:i].encode("utf-16-le")) // 2 for i in range(len(expected) + 1)]
    assert sorted((e.type, e.offset, e.length) for e in formatted.entities) == sorted(
        (kind, utf16[at], utf16[at + length] - utf16[at]) for kind, at, length in found
    )


# --- Bounded work -------------------------------------------------------------------------

WORST_CASES: dict[str, tuple[ParseMode, Callable[[int], str]]] = {
    "deep HTML nesting": (HTML, lambda n: "<b><i>" * n + "x" + "</i></b>" * n),
    "many HTML entities": (HTML, lambda n: "&amp;&#169;&lt;" * n),
    "HTML left open": (HTML, lambda n: "<b>" * n),
    "long HTML attributes": (HTML, lambda n: f'<a href="{"h" * n}">x</a>' * 4),
    "deep MarkdownV2 nesting": (MD, lambda n: "*_~" * n + "x" + "~_*" * n),
    "MarkdownV2 escapes": (MD, lambda n: "\\.\\!" * n),
    "MarkdownV2 links": (MD, lambda n: "[a](b\\)c)" * n),
    "MarkdownV2 quotes": (MD, lambda n: ">q\n" * n),
    "MarkdownV2 pre without a language": (MD, lambda n: "```" + "a" * n + "```"),
    "MarkdownV2 left open": (MD, lambda n: "*_" * n),
}


def steps(text: str, mode: ParseMode) -> int:
    """Lines of Python the parser runs for `text`: work counted, not timed."""
    count = 0

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        markup.parse(text, mode)
    except InvalidMarkup:
        pass
    finally:
        sys.settrace(previous)
    return count


@pytest.mark.parametrize("case", sorted(WORST_CASES))
def test_work_grows_linearly_with_the_text(case: str) -> None:
    mode, build = WORST_CASES[case]
    small, large = steps(build(100), mode), steps(build(1000), mode)

    assert large <= 11 * small, (small, large)  # ten times the text, at most ~ten times the work
