"""Telegram's formatting rules (HTML and MarkdownV2), checked before a text is stored.

Telegram refuses a message whose markup it cannot parse ("Bad Request: can't
parse entities"), and only when the message is sent: a broadcast with a stray
`<b>` used to be accepted and then fail for every recipient. `parse` applies
the rules of the Bot API's "Formatting options" when a text is saved, and is
also the fake Bot API's parser, so a test that sends bad markup fails the way
production would: one piece of code for one rule.

The rules, as documented:

* HTML: only the tags b, strong, i, em, u, ins, s, strike, del,
  span class="tg-spoiler", tg-spoiler, a href, tg-emoji emoji-id, code
  (class="language-x" inside pre), pre and blockquote (expandable), closed in
  the order they were opened; every `<`, `>` and `&` that is not part of a tag
  or an entity written as &lt; &gt; &amp;; only the named entities &lt; &gt;
  &amp; &quot; and numeric ones (&#169; &#xA9;).
* MarkdownV2: the characters _ * [ ] ( ) ~ ` > # + - = | { } . ! escaped with a
  backslash outside entities (a `>` that starts a line opens a block
  quotation); every entity closed; inside code and pre only ` and \\ escaped;
  in a link's (URL) only ) and \\. Italic, underline and the other markers
  close as Telegram's own parser closes them (tdlib's `parse_markdown_v2`).

Where Telegram's parser is more lenient than its documentation (it shows a
bare `&` or `>` in HTML as is), the documented rule is kept: it is the
contract, and a text that follows it is safe whatever the server's version.

The work is linear in the text's length: runs of ordinary characters are
skipped by a regular expression, every other character is looked at a bounded
number of times, an open entity is one stack entry, and an error stops the
pass. The result is what the reader sees: the text without markup and its
entities, with offsets in UTF-16 code units, as Telegram counts them.
"""

from __future__ import annotations

import bisect
import html
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from backend.domain.errors import InvalidMarkup
from backend.domain.models import ParseMode

# Tag → the Bot API entity type it makes.
HTML_TAGS: dict[str, str] = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic",
    "u": "underline", "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "span": "spoiler", "tg-spoiler": "spoiler", "a": "text_link",
    "tg-emoji": "custom_emoji", "code": "code", "pre": "pre", "blockquote": "blockquote",
}  # fmt: skip
HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

_SPACES = " \t\n\r\f\v\0"
_SHOWN = 40  # characters of a tag name or an entity quoted back in an error
_HTML_TEXT = re.compile(r"[^<>&]+")
_HTML_ATTRIBUTE_ENTITY = re.compile(r"&(?:#([0-9]{1,7})|#x([0-9a-fA-F]{1,6})|(lt|gt|amp|quot));?")
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.\-]*")
_MARKDOWN_TEXT = re.compile(r"[^_*\[\]()~`>#+\-=|{}.!\\\n]+")
_MARKDOWN_CODE_TEXT = re.compile(r"[^`\\]+")
_MARKDOWN_ESCAPE = re.compile(r"([_*\[\]()~`>#+\-=|{}.!\\\n])")
_EMOJI_URL = re.compile(r"tg://emoji\?id=([0-9]{1,20})")

_MARKERS = {
    "bold": "'*'",
    "italic": "'_'",
    "underline": "'__'",
    "strikethrough": "'~'",
    "spoiler": "'||'",
    "text_link": "'['",
    "custom_emoji": "'!['",
    "code": "'`'",
    "pre": "'```'",
    "blockquote": "'>'",
}
_NAMES = {"text_link": "link", "custom_emoji": "custom emoji", "blockquote": "block quotation"}


@dataclass(frozen=True)
class Entity:
    """One formatted stretch of the visible text, as a Bot API MessageEntity."""

    type: str
    offset: int  # in UTF-16 code units, as Telegram counts
    length: int
    url: str | None = None
    language: str | None = None
    custom_emoji_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        found = {
            "type": self.type,
            "offset": self.offset,
            "length": self.length,
            "url": self.url,
            "language": self.language,
            "custom_emoji_id": self.custom_emoji_id,
        }
        return {key: value for key, value in found.items() if value is not None}


@dataclass(frozen=True)
class Formatted:
    """What a reader sees of a text: the characters without markup, and their formatting."""

    text: str
    entities: tuple[Entity, ...] = ()


@dataclass(frozen=True)
class Source:
    """The text an author wrote, and where each stretch of the text checked came from.

    A template is checked with its placeholders filled in, yet an error must
    point into what the author typed: a stretch filled from a placeholder maps
    to the placeholder's position, and the error names it.
    """

    written: str
    starts: tuple[int, ...] = ()  # where each stretch starts in the checked text (ascending)
    origins: tuple[int, ...] = ()  # where it starts in `written`
    placeholders: tuple[str | None, ...] = ()  # the placeholder it was filled from, if any

    def locate(self, offset: int) -> tuple[int, str | None]:
        index = bisect.bisect_right(self.starts, offset) - 1
        if index < 0:
            return offset, None
        name = self.placeholders[index]
        if name is not None:
            return self.origins[index], name
        return self.origins[index] + offset - self.starts[index], None

    def locate_end(self, offset: int) -> int:
        """Where a stretch of the checked text that ends at `offset` ends in `written`."""
        if offset <= 0:
            return self.locate(offset)[0]
        origin, name = self.locate(offset - 1)
        if name is not None:
            return self.written.find("}", origin) + 1  # after the whole {placeholder}
        return origin + 1


def parse(text: str, parse_mode: ParseMode, *, source: Source | None = None) -> Formatted:
    """What the reader sees of `text` in `parse_mode`; InvalidMarkup if Telegram would refuse it.

    The error says what is wrong and where (line and column, 1-based, and the
    character offset, 0-based, in `details`), in the written text of `source`
    when given.
    """
    if parse_mode is ParseMode.PLAIN:
        return Formatted(text)
    try:
        if parse_mode is ParseMode.HTML:
            visible, spans = _Html(text).run()
        else:
            visible, spans = _MarkdownV2(text).run()
    except _Broken as broken:
        raise _invalid(parse_mode, broken, source or Source(text)) from None
    return Formatted(visible, _entities(visible, spans))


def validate(text: str, parse_mode: ParseMode, *, source: Source | None = None) -> None:
    """Raise InvalidMarkup unless Telegram accepts `text` in `parse_mode` (plain text always)."""
    parse(text, parse_mode, source=source)


def visible_text(text: str, parse_mode: ParseMode) -> str:
    """The characters a reader sees, e.g. for a button label, which takes no markup."""
    return parse(text, parse_mode).text


def escape(value: str, parse_mode: ParseMode) -> str:
    """`value` written so that the reader sees it exactly, wherever it stands in a text.

    HTML: &, <, >, " and ' as entities (quotes too, so a value is safe inside
    an attribute). MarkdownV2: every reserved character, the backslash and the
    line break behind a backslash (Telegram allows escaping any character
    from 1 to 126), so a value with a line break does not end a block
    quotation around it.
    """
    if parse_mode is ParseMode.HTML:
        return html.escape(value, quote=True)
    if parse_mode is ParseMode.MARKDOWN_V2:
        return _MARKDOWN_ESCAPE.sub(r"\\\1", value)
    return value


def invalid(parse_mode: ParseMode, text: str, at: int, before: str, after: str) -> InvalidMarkup:
    """InvalidMarkup for a problem found outside the parser, worded `before` + where + `after`."""
    return _invalid(parse_mode, _Broken(before, _At(at), after), Source(text))


def telegram_parse_mode(parse_mode: ParseMode) -> str | None:
    """The Bot API's `parse_mode` value: None for plain text."""
    return None if parse_mode is ParseMode.PLAIN else parse_mode.value


def parse_mode_named(name: str) -> ParseMode | None:
    """The parse mode a Bot API `parse_mode` names (case-insensitive), None for unknown ones."""
    return {"html": ParseMode.HTML, "markdownv2": ParseMode.MARKDOWN_V2}.get(name.lower())


# --- Errors -------------------------------------------------------------------------------


class _At(NamedTuple):
    """A position in the checked text, rendered as a line and column in an error message."""

    offset: int


class _Quote(NamedTuple):
    """A stretch of the checked text, quoted in an error as the author wrote it."""

    start: int
    end: int


class _Broken(Exception):
    """Why a text cannot be parsed: message parts, positions among them (the first is where)."""

    def __init__(self, *parts: str | _At | _Quote) -> None:
        super().__init__()
        self.parts = parts


def _invalid(parse_mode: ParseMode, broken: _Broken, source: Source) -> InvalidMarkup:
    where: dict[str, Any] = {}

    def describe(at: _At) -> str:
        offset, placeholder = source.locate(at.offset)
        line = source.written.count("\n", 0, offset) + 1
        column = offset - (source.written.rfind("\n", 0, offset) + 1) + 1
        if not where:
            where.update(offset=offset, line=line, column=column)
            if placeholder is not None:
                where["placeholder"] = placeholder
        note = f" (in the value of {{{placeholder}}})" if placeholder is not None else ""
        return f"line {line}, column {column}{note}"

    def quote(part: _Quote) -> str:
        start = source.locate(part.start)[0]
        return _shown(source.written[start : source.locate_end(part.end)])

    def render(part: str | _At | _Quote) -> str:
        if isinstance(part, _At):
            return describe(part)
        return quote(part) if isinstance(part, _Quote) else part

    label = "HTML" if parse_mode is ParseMode.HTML else "MarkdownV2"
    message = "".join(render(part) for part in broken.parts)
    return InvalidMarkup(f"{label}: {message}", **where)


def _shown(value: str) -> str:
    return value if len(value) <= _SHOWN else value[:_SHOWN] + "…"


# --- Entities -----------------------------------------------------------------------------


class _Span(NamedTuple):
    """An entity found, with offsets in characters of the visible text."""

    type: str
    start: int
    end: int
    argument: str = ""


def _entities(visible: str, spans: list[_Span]) -> tuple[Entity, ...]:
    """Spans as Bot API entities: UTF-16 offsets, sorted as Telegram sorts them."""
    if not spans:
        return ()
    wide = visible.isascii() or max(visible) <= "\uffff"
    units: list[int] = []
    if not wide:
        total = 0
        units.append(0)
        for char in visible:
            total += 2 if char > "\uffff" else 1
            units.append(total)
    found = []
    for span in spans:
        if span.type == "text_link" and not span.argument:
            continue  # Telegram makes a link of "[text]" only when the text is a URL itself
        start, end = (span.start, span.end) if wide else (units[span.start], units[span.end])
        argument = span.argument or None
        found.append(
            Entity(
                type=span.type,
                offset=start,
                length=end - start,
                url=argument if span.type == "text_link" else None,
                language=argument if span.type == "pre" else None,
                custom_emoji_id=argument if span.type == "custom_emoji" else None,
            )
        )
    found.sort(key=lambda entity: (entity.offset, -entity.length))
    return tuple(found)


# --- HTML ---------------------------------------------------------------------------------


class _Open(NamedTuple):
    """An entity opened and not yet closed."""

    name: str  # the tag (HTML) or the entity type (MarkdownV2)
    at: int  # where its markup starts in the checked text
    visible: int  # where its text starts in the visible text
    argument: str = ""


class _Html:
    def __init__(self, text: str) -> None:
        self.text = text
        self.shown: list[str] = []
        self.size = 0  # characters in `shown`
        self.open: list[_Open] = []
        self.spans: list[_Span] = []

    def show(self, chars: str) -> None:
        self.shown.append(chars)
        self.size += len(chars)

    def run(self) -> tuple[str, list[_Span]]:
        text, at = self.text, 0
        while at < len(text):
            plain = _HTML_TEXT.match(text, at)
            if plain is not None:
                self.show(plain.group())
                at = plain.end()
            elif text[at] == "&":
                at = self.entity(at)
            elif text[at] == ">":
                raise _Broken("'>' at ", _At(at), " must be written as &gt;")
            elif text.startswith("</", at):
                at = self.end_tag(at)
            else:
                at = self.start_tag(at)
        if self.open:
            last = self.open[-1]
            raise _Broken(f"tag <{last.name}> opened at ", _At(last.at), " is never closed")
        return "".join(self.shown), self.spans

    def entity(self, at: int) -> int:
        """&lt; &gt; &amp; &quot; &#NN; or &#xHH; at `at`: shows its character, returns the end."""
        text = self.text
        end = at + 1
        if text.startswith("#", end):
            end += 1
            hexadecimal = text.startswith("x", end)
            end += 1 if hexadecimal else 0
            digits_from = end
            digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
            while end < len(text) and end - digits_from <= 8 and text[end] in digits:
                end += 1
            number = text[digits_from:end]
            if not number or not text.startswith(";", end):
                raise _Broken(
                    "'&' at ", _At(at), " starts a numeric entity that is not &#NNN; or &#xHHH;"
                )
            code = int(number, 16 if hexadecimal else 10)
            if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise _Broken(
                    "entity ", _Quote(at, end + 1), " at ", _At(at), " is not a character"
                )
            self.show(chr(code))
            return end + 1
        while end < len(text) and end - at <= 8 and text[end].isascii() and text[end].isalpha():
            end += 1
        name = text[at + 1 : end]
        if name in HTML_ENTITIES and text.startswith(";", end):
            self.show(HTML_ENTITIES[name])
            return end + 1
        if name in HTML_ENTITIES:
            raise _Broken(f"entity &{name} at ", _At(at), " must end with ';'")
        if name:
            written = _Quote(at, end + 1 if text.startswith(";", end) else end)
            raise _Broken(
                "unknown entity ",
                written,
                " at ",
                _At(at),
                ": Telegram knows only &lt; &gt; &amp; &quot; and numeric ones like &#169;"
                " (write &amp; for a literal '&')",
            )
        raise _Broken("'&' at ", _At(at), " must be written as &amp;")

    def start_tag(self, at: int) -> int:
        text = self.text
        end = at + 1
        while end < len(text) and text[end] not in _SPACES and text[end] != ">":
            end += 1
        raw = text[at + 1 : end]
        if not raw:
            raise _Broken("'<' at ", _At(at), " does not start a tag: write &lt; for a literal '<'")
        name = raw.lower()
        if name not in HTML_TAGS:
            raise _Broken(
                "tag <",
                _Quote(at + 1, end),
                "> at ",
                _At(at),
                " is not supported: Telegram knows only "
                + ", ".join(sorted(HTML_TAGS))
                + " (write &lt; for a literal '<')",
            )
        attributes: dict[str, str] = {}
        while True:
            while end < len(text) and text[end] in _SPACES:
                end += 1
            if end >= len(text):
                raise _Broken(f"tag <{name} at ", _At(at), " is not closed with '>'")
            if text[end] == ">":
                end += 1
                break
            end = self.attribute(at, name, end, attributes)
        argument = self.argument(at, name, attributes)
        self.open.append(_Open(name, at, self.size, argument))
        return end

    def attribute(self, at: int, tag: str, start: int, into: dict[str, str]) -> int:
        """One `name="value"`, `name=token` or (expandable) `name` of a tag; returns its end."""
        text = self.text
        end = start
        while end < len(text) and text[end] not in _SPACES and text[end] not in "=>":
            end += 1
        name = text[start:end].lower()
        shown = _Quote(start, end)
        if not name:
            raise _Broken(f"tag <{tag}> at ", _At(at), " has an attribute without a name")
        while end < len(text) and text[end] in _SPACES:
            end += 1
        if not text.startswith("=", end):
            if tag == "blockquote" and name == "expandable":
                into[name] = ""
                return end
            raise _Broken(
                "attribute ", shown, f" of tag <{tag}> at ", _At(start), ' needs a value: name="…"'
            )
        end += 1
        while end < len(text) and text[end] in _SPACES:
            end += 1
        if end >= len(text):
            raise _Broken(f"tag <{tag} at ", _At(at), " is not closed with '>'")
        quote = text[end]
        if quote in "\"'":
            close = text.find(quote, end + 1)
            if close < 0:
                raise _Broken(
                    "the value of attribute ",
                    shown,
                    f" of tag <{tag}> opened with {quote} at ",
                    _At(end),
                    " has no closing one",
                )
            into[name] = _attribute_value(text[end + 1 : close])
            return close + 1
        token = _NAME_TOKEN.match(text, end)
        assert token is not None  # the pattern matches the empty string
        if token.end() < len(text) and text[token.end()] not in _SPACES + ">":
            raise _Broken(
                "the value of attribute ",
                shown,
                f" of tag <{tag}> at ",
                _At(end),
                " must be in quotes: without them only letters, digits, '.' and '-' are allowed",
            )
        into[name] = token.group().lower()
        return token.end()

    def argument(self, at: int, tag: str, attributes: dict[str, str]) -> str:
        """What the tag's entity carries (URL, language, emoji id), checked as Telegram does."""
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            raise _Broken("tag <span> at ", _At(at), ' must have class="tg-spoiler"')
        if tag == "tg-emoji":
            emoji = attributes.get("emoji-id", "")
            if not emoji.isascii() or not emoji.isdigit() or len(emoji) > 20:
                raise _Broken(
                    "tag <tg-emoji> at ", _At(at), " needs emoji-id with a custom emoji's number"
                )
            return emoji
        if tag == "a":
            return attributes.get("href", "")
        if tag == "code":
            language = attributes.get("class", "")
            return language[len("language-") :] if language.startswith("language-") else ""
        if tag == "blockquote" and "expandable" in attributes:
            return "expandable"
        return ""

    def end_tag(self, at: int) -> int:
        text = self.text
        end = at + 2
        while end < len(text) and text[end] not in _SPACES and text[end] != ">":
            end += 1
        name, shown = text[at + 2 : end].lower(), _Quote(at + 2, end)
        while end < len(text) and text[end] in _SPACES:
            end += 1
        if not text.startswith(">", end):
            raise _Broken("closing tag </", shown, " at ", _At(at), " is not closed with '>'")
        if not self.open:
            raise _Broken("closing tag </", shown, "> at ", _At(at), " has no opening tag")
        opened = self.open[-1]
        if name != opened.name:
            raise _Broken(
                "closing tag </",
                shown,
                "> at ",
                _At(at),
                f" does not match <{opened.name}> opened at ",
                _At(opened.at),
            )
        self.open.pop()
        self.close(opened)
        return end + 1

    def close(self, opened: _Open) -> None:
        kind = HTML_TAGS[opened.name]
        argument = opened.argument
        if opened.name == "pre" and self.spans:
            # <pre><code class="language-x">…</code></pre> is one pre block in language x.
            inner = self.spans[-1]
            if inner.type == "code" and (inner.start, inner.end) == (opened.visible, self.size):
                self.spans.pop()
                argument = inner.argument
        if opened.name == "blockquote" and argument:
            kind, argument = "expandable_blockquote", ""
        if self.size > opened.visible:
            self.spans.append(_Span(kind, opened.visible, self.size, argument))


def _attribute_value(raw: str) -> str:
    """An attribute value with its entities decoded, as leniently as Telegram decodes them."""

    def decoded(match: re.Match[str]) -> str:
        decimal, hexadecimal, name = match.groups()
        if name:
            return HTML_ENTITIES[name]
        code = int(decimal, 10) if decimal else int(hexadecimal, 16)
        valid = 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF
        return chr(code) if valid else match.group()

    return _HTML_ATTRIBUTE_ENTITY.sub(decoded, raw) if "&" in raw else raw


# --- MarkdownV2 -----------------------------------------------------------------------------


class _MarkdownV2:
    """Telegram's MarkdownV2 parser (tdlib's `parse_markdown_v2`), refusing what it refuses."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.shown: list[str] = []
        self.size = 0
        self.open: list[_Open] = []
        self.spans: list[_Span] = []
        self.quoting = False  # a block quotation is open
        self.line_start = True  # nothing shown since the last line break: '>' starts a quote

    def show(self, chars: str, *, line_break: bool = False) -> None:
        """Show `chars`; a line break of the markup (not of code) lets '>' start a quote."""
        self.shown.append(chars)
        self.size += len(chars)
        if chars.strip("\r"):
            self.line_start = line_break

    def run(self) -> tuple[str, list[_Span]]:
        text, at = self.text, 0
        while at < len(text):
            top = self.open[-1].name if self.open else None
            in_code = top in ("code", "pre")
            plain = (_MARKDOWN_CODE_TEXT if in_code else _MARKDOWN_TEXT).match(text, at)
            if plain is not None:
                self.show(plain.group())
                at = plain.end()
                continue
            char = text[at]
            if char == "\\":
                following = text[at + 1 : at + 2]
                if following and 0 < ord(following) <= 126:
                    self.show(following, line_break=following == "\n")
                    at += 2
                else:
                    self.show(char)
                    at += 1
                continue
            at = self.close(at) if self.ends(at, top) else self.begin(at, top)
        if self.quoting:
            kind = "blockquote"
            last = self.open[-1]
            if last.name == "spoiler" and last.at == len(text) - 2:
                self.open.pop()
                kind = "expandable_blockquote"
            if self.open[-1].name == "blockquote":
                self.end_quote(self.open.pop(), kind)
        if self.open:
            raise self.unclosed(self.open[-1], " is never closed")
        return "".join(self.shown), self.spans

    def ends(self, at: int, top: str | None) -> bool:
        """Whether the reserved character at `at` closes the innermost open entity."""
        text = self.text
        if top is None:
            return False
        if self.quoting and text[at] == "\n" and not text.startswith(">", at + 1):
            return True
        char = text[at]
        closes = {
            "bold": char == "*",
            "italic": char == "_" and not text.startswith("_", at + 1),
            "underline": text.startswith("__", at),
            "strikethrough": char == "~",
            "spoiler": text.startswith("||", at),
            "text_link": char == "]",
            "custom_emoji": char == "]",
            "code": char == "`",
            "pre": text.startswith("```", at),
            "blockquote": False,
        }
        return closes[top]

    def begin(self, at: int, top: str | None) -> int:
        text = self.text
        char = text[at]
        if top == "pre":
            raise _Broken("'`' at ", _At(at), " inside a pre block must be escaped: \\`")
        if char == "\n":
            self.show("\n", line_break=True)
            return at + 1
        if char == ">" and self.line_start:
            if not self.quoting:
                self.quoting = True
                self.open.append(_Open("blockquote", at, self.size))
            return at + 1
        kind, end, argument = "", at + 1, ""
        if char == "_":
            kind = "underline" if text.startswith("_", at + 1) else "italic"
            end = at + 2 if kind == "underline" else at + 1
        elif char == "*":
            kind = "bold"
        elif char == "~":
            kind = "strikethrough"
        elif char == "|" and text.startswith("|", at + 1):
            kind, end = "spoiler", at + 2
        elif char == "[":
            kind = "text_link"
        elif char == "!" and text.startswith("[", at + 1):
            kind, end = "custom_emoji", at + 2
        elif char == "`" and text.startswith("```", at):
            kind, end, argument = "pre", *self.pre_start(at + 3)
        elif char == "`":
            kind = "code"
        if not kind:
            raise _Broken(
                f"'{char}' at ", _At(at), f" is reserved: write \\{char} to show it as it is"
            )
        self.open.append(_Open(kind, at, self.size, argument))
        return end

    def pre_start(self, at: int) -> tuple[int, str]:
        """After ```: the language, if one is named, and one line break skipped."""
        text, end, language = self.text, at, ""
        while end < len(text) and text[end] not in _SPACES and text[end] != "`":
            end += 1
        if end != at and end < len(text) and text[end] != "`":
            language, at = text[at:end], end
        if text[at : at + 1] in ("\n", "\r"):
            pair = text[at : at + 2]
            at += 2 if pair in ("\r\n", "\n\r") else 1
        return at, language

    def close(self, at: int) -> int:
        text = self.text
        opened = self.open.pop()
        kind, argument, end = opened.name, opened.argument, at + 1
        if text[at] == "\n" and kind != "blockquote":
            # A line without '>' ends the quotation; '||' right before it makes it expandable.
            if kind != "spoiler" or opened.at != at - 2:
                raise self.unclosed(
                    opened, " is not closed before the block quotation ends at ", _At(at)
                )
            if self.open[-1].name != "blockquote":
                raise self.unclosed(
                    self.open[-1], " is not closed before the block quotation ends at ", _At(at)
                )
            opened = self.open.pop()
            self.show("\n", line_break=True)
            self.end_quote(opened, "expandable_blockquote")
            return end
        if kind == "blockquote":
            self.show("\n", line_break=True)
            self.end_quote(opened, "blockquote")
            return end
        if kind in ("underline", "spoiler"):
            end = at + 2
        elif kind == "pre":
            end = at + 3
        elif kind == "text_link":
            if text.startswith("(", end):
                argument, end = self.url(end + 1, opened)
        elif kind == "custom_emoji":
            if not text.startswith("(", end):
                raise _Broken(
                    "custom emoji at ", _At(opened.at), " must be followed by (tg://emoji?id=…)"
                )
            url, end = self.url(end + 1, opened)
            emoji = _EMOJI_URL.fullmatch(url)
            if emoji is None:
                raise _Broken(
                    "custom emoji at ", _At(opened.at), " needs a URL like tg://emoji?id=123"
                )
            argument = emoji.group(1)
        if self.size > opened.visible:
            self.spans.append(_Span(kind, opened.visible, self.size, argument))
        return end

    def url(self, at: int, link: _Open) -> tuple[str, int]:
        """The (URL) of `link` from `at`, with \\) and \\\\ unescaped; returns it and its end."""
        text, end, url = self.text, at, []
        while end < len(text) and text[end] != ")":
            if text[end] == "\\" and end + 1 < len(text) and 0 < ord(text[end + 1]) <= 126:
                url.append(text[end + 1])
                end += 2
            else:
                url.append(text[end])
                end += 1
        if end >= len(text):
            name = _NAMES[link.name]
            raise _Broken(f"the URL of the {name} opened at ", _At(link.at), " has no closing ')'")
        return "".join(url), end + 1

    def end_quote(self, opened: _Open, kind: str) -> None:
        self.quoting = False
        self.line_start = True
        if self.size > opened.visible:
            self.spans.append(_Span(kind, opened.visible, self.size))

    def unclosed(self, opened: _Open, *rest: str | _At) -> _Broken:
        name = _NAMES.get(opened.name, opened.name)
        return _Broken(f"{name} opened with {_MARKERS[opened.name]} at ", _At(opened.at), *rest)
