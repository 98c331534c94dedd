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

The parts: `parsing` (parse, validate), `html_parser` and `markdown_v2` (one
parser per mode), `formatted` (the result and what the parsers record),
`errors` (where a problem is, in the text the author wrote) and `modes`
(escaping, and the Bot API's names of the modes).
"""

from backend.domain.markup.errors import Source, invalid
from backend.domain.markup.formatted import Entity, Formatted
from backend.domain.markup.html_parser import HTML_ENTITIES, HTML_TAGS
from backend.domain.markup.modes import escape, parse_mode_named, telegram_parse_mode
from backend.domain.markup.parsing import parse, validate, visible_text

__all__ = [
    "HTML_ENTITIES",
    "HTML_TAGS",
    "Entity",
    "Formatted",
    "Source",
    "escape",
    "invalid",
    "parse",
    "parse_mode_named",
    "telegram_parse_mode",
    "validate",
    "visible_text",
]
