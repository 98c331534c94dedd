"""Telegram's HTML parse mode: the documented tags, attributes and entities, nothing else.

The rules are listed in the package's docstring; this checks them in one pass
and records the entities found, as the MarkdownV2 parser does for its mode.
"""

from __future__ import annotations

import re

from backend.domain.markup.errors import At, Broken, Quote
from backend.domain.markup.formatted import SPACES, Open, Span

# Tag → the Bot API entity type it makes.
HTML_TAGS: dict[str, str] = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic",
    "u": "underline", "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "span": "spoiler", "tg-spoiler": "spoiler", "a": "text_link",
    "tg-emoji": "custom_emoji", "code": "code", "pre": "pre", "blockquote": "blockquote",
}  # fmt: skip
HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

_HTML_TEXT = re.compile(r"[^<>&]+")
_HTML_ATTRIBUTE_ENTITY = re.compile(r"&(?:#([0-9]{1,7})|#x([0-9a-fA-F]{1,6})|(lt|gt|amp|quot));?")
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.\-]*")


class HtmlParser:
    """Telegram's HTML parser, refusing what its documentation refuses."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.shown: list[str] = []
        self.size = 0  # characters in `shown`
        self.open: list[Open] = []
        self.spans: list[Span] = []

    def show(self, chars: str) -> None:
        self.shown.append(chars)
        self.size += len(chars)

    def run(self) -> tuple[str, list[Span]]:
        text, at = self.text, 0
        while at < len(text):
            plain = _HTML_TEXT.match(text, at)
            if plain is not None:
                self.show(plain.group())
                at = plain.end()
            elif text[at] == "&":
                at = self.entity(at)
            elif text[at] == ">":
                raise Broken("'>' at ", At(at), " must be written as &gt;")
            elif text.startswith("</", at):
                at = self.end_tag(at)
            else:
                at = self.start_tag(at)
        if self.open:
            last = self.open[-1]
            raise Broken(f"tag <{last.name}> opened at ", At(last.at), " is never closed")
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
                raise Broken(
                    "'&' at ", At(at), " starts a numeric entity that is not &#NNN; or &#xHHH;"
                )
            code = int(number, 16 if hexadecimal else 10)
            if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise Broken("entity ", Quote(at, end + 1), " at ", At(at), " is not a character")
            self.show(chr(code))
            return end + 1
        while end < len(text) and end - at <= 8 and text[end].isascii() and text[end].isalpha():
            end += 1
        name = text[at + 1 : end]
        if name in HTML_ENTITIES and text.startswith(";", end):
            self.show(HTML_ENTITIES[name])
            return end + 1
        if name in HTML_ENTITIES:
            raise Broken(f"entity &{name} at ", At(at), " must end with ';'")
        if name:
            written = Quote(at, end + 1 if text.startswith(";", end) else end)
            raise Broken(
                "unknown entity ",
                written,
                " at ",
                At(at),
                ": Telegram knows only &lt; &gt; &amp; &quot; and numeric ones like &#169;"
                " (write &amp; for a literal '&')",
            )
        raise Broken("'&' at ", At(at), " must be written as &amp;")

    def start_tag(self, at: int) -> int:
        text = self.text
        end = at + 1
        while end < len(text) and text[end] not in SPACES and text[end] != ">":
            end += 1
        raw = text[at + 1 : end]
        if not raw:
            raise Broken("'<' at ", At(at), " does not start a tag: write &lt; for a literal '<'")
        name = raw.lower()
        if name not in HTML_TAGS:
            raise Broken(
                "tag <",
                Quote(at + 1, end),
                "> at ",
                At(at),
                " is not supported: Telegram knows only "
                + ", ".join(sorted(HTML_TAGS))
                + " (write &lt; for a literal '<')",
            )
        attributes: dict[str, str] = {}
        while True:
            while end < len(text) and text[end] in SPACES:
                end += 1
            if end >= len(text):
                raise Broken(f"tag <{name} at ", At(at), " is not closed with '>'")
            if text[end] == ">":
                end += 1
                break
            end = self.attribute(at, name, end, attributes)
        argument = self.argument(at, name, attributes)
        self.open.append(Open(name, at, self.size, argument))
        return end

    def attribute(self, at: int, tag: str, start: int, into: dict[str, str]) -> int:
        """One `name="value"`, `name=token` or (expandable) `name` of a tag; returns its end."""
        text = self.text
        end = start
        while end < len(text) and text[end] not in SPACES and text[end] not in "=>":
            end += 1
        name = text[start:end].lower()
        shown = Quote(start, end)
        if not name:
            raise Broken(f"tag <{tag}> at ", At(at), " has an attribute without a name")
        while end < len(text) and text[end] in SPACES:
            end += 1
        if not text.startswith("=", end):
            if tag == "blockquote" and name == "expandable":
                into[name] = ""
                return end
            raise Broken(
                "attribute ", shown, f" of tag <{tag}> at ", At(start), ' needs a value: name="…"'
            )
        end += 1
        while end < len(text) and text[end] in SPACES:
            end += 1
        if end >= len(text):
            raise Broken(f"tag <{tag} at ", At(at), " is not closed with '>'")
        quote = text[end]
        if quote in "\"'":
            close = text.find(quote, end + 1)
            if close < 0:
                raise Broken(
                    "the value of attribute ",
                    shown,
                    f" of tag <{tag}> opened with {quote} at ",
                    At(end),
                    " has no closing one",
                )
            into[name] = _attribute_value(text[end + 1 : close])
            return close + 1
        token = _NAME_TOKEN.match(text, end)
        assert token is not None  # the pattern matches the empty string
        if token.end() < len(text) and text[token.end()] not in SPACES + ">":
            raise Broken(
                "the value of attribute ",
                shown,
                f" of tag <{tag}> at ",
                At(end),
                " must be in quotes: without them only letters, digits, '.' and '-' are allowed",
            )
        into[name] = token.group().lower()
        return token.end()

    def argument(self, at: int, tag: str, attributes: dict[str, str]) -> str:
        """What the tag's entity carries (URL, language, emoji id), checked as Telegram does."""
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            raise Broken("tag <span> at ", At(at), ' must have class="tg-spoiler"')
        if tag == "tg-emoji":
            emoji = attributes.get("emoji-id", "")
            if not emoji.isascii() or not emoji.isdigit() or len(emoji) > 20:
                raise Broken(
                    "tag <tg-emoji> at ", At(at), " needs emoji-id with a custom emoji's number"
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
        while end < len(text) and text[end] not in SPACES and text[end] != ">":
            end += 1
        name, shown = text[at + 2 : end].lower(), Quote(at + 2, end)
        while end < len(text) and text[end] in SPACES:
            end += 1
        if not text.startswith(">", end):
            raise Broken("closing tag </", shown, " at ", At(at), " is not closed with '>'")
        if not self.open:
            raise Broken("closing tag </", shown, "> at ", At(at), " has no opening tag")
        opened = self.open[-1]
        if name != opened.name:
            raise Broken(
                "closing tag </",
                shown,
                "> at ",
                At(at),
                f" does not match <{opened.name}> opened at ",
                At(opened.at),
            )
        self.open.pop()
        self.close(opened)
        return end + 1

    def close(self, opened: Open) -> None:
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
            self.spans.append(Span(kind, opened.visible, self.size, argument))


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
