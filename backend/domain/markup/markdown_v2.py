"""Telegram's MarkdownV2 parse mode, as tdlib's `parse_markdown_v2` parses it.

The rules are listed in the package's docstring; where the documentation is
silent (how italic, underline and the other markers close), this follows
Telegram's own parser.
"""

from __future__ import annotations

import re

from backend.domain.markup.errors import At, Broken
from backend.domain.markup.formatted import SPACES, Open, Span

_MARKDOWN_TEXT = re.compile(r"[^_*\[\]()~`>#+\-=|{}.!\\\n]+")
_MARKDOWN_CODE_TEXT = re.compile(r"[^`\\]+")
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


class MarkdownV2Parser:
    """Telegram's MarkdownV2 parser (tdlib's `parse_markdown_v2`), refusing what it refuses."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.shown: list[str] = []
        self.size = 0
        self.open: list[Open] = []
        self.spans: list[Span] = []
        self.quoting = False  # a block quotation is open
        self.line_start = True  # nothing shown since the last line break: '>' starts a quote

    def show(self, chars: str, *, line_break: bool = False) -> None:
        """Show `chars`; a line break of the markup (not of code) lets '>' start a quote."""
        self.shown.append(chars)
        self.size += len(chars)
        if chars.strip("\r"):
            self.line_start = line_break

    def run(self) -> tuple[str, list[Span]]:
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
            raise Broken("'`' at ", At(at), " inside a pre block must be escaped: \\`")
        if char == "\n":
            self.show("\n", line_break=True)
            return at + 1
        if char == ">" and self.line_start:
            if not self.quoting:
                self.quoting = True
                self.open.append(Open("blockquote", at, self.size))
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
            raise Broken(
                f"'{char}' at ", At(at), f" is reserved: write \\{char} to show it as it is"
            )
        self.open.append(Open(kind, at, self.size, argument))
        return end

    def pre_start(self, at: int) -> tuple[int, str]:
        """After ```: the language, if one is named, and one line break skipped."""
        text, end, language = self.text, at, ""
        while end < len(text) and text[end] not in SPACES and text[end] != "`":
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
                    opened, " is not closed before the block quotation ends at ", At(at)
                )
            if self.open[-1].name != "blockquote":
                raise self.unclosed(
                    self.open[-1], " is not closed before the block quotation ends at ", At(at)
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
                raise Broken(
                    "custom emoji at ", At(opened.at), " must be followed by (tg://emoji?id=…)"
                )
            url, end = self.url(end + 1, opened)
            emoji = _EMOJI_URL.fullmatch(url)
            if emoji is None:
                raise Broken(
                    "custom emoji at ", At(opened.at), " needs a URL like tg://emoji?id=123"
                )
            argument = emoji.group(1)
        if self.size > opened.visible:
            self.spans.append(Span(kind, opened.visible, self.size, argument))
        return end

    def url(self, at: int, link: Open) -> tuple[str, int]:
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
            raise Broken(f"the URL of the {name} opened at ", At(link.at), " has no closing ')'")
        return "".join(url), end + 1

    def end_quote(self, opened: Open, kind: str) -> None:
        self.quoting = False
        self.line_start = True
        if self.size > opened.visible:
            self.spans.append(Span(kind, opened.visible, self.size))

    def unclosed(self, opened: Open, *rest: str | At) -> Broken:
        name = _NAMES.get(opened.name, opened.name)
        return Broken(f"{name} opened with {_MARKERS[opened.name]} at ", At(opened.at), *rest)
