"""Text holding a NUL character (U+0000) is refused before it reaches any database.

PostgreSQL cannot store U+0000 in text at all (the driver fails the
statement, which would reach an admin as INTERNAL), while MariaDB and SQLite
store it, and anything downstream that treats text as a C string (logs,
exports, terminals) cuts it short. No person types one; a client that sends
one is wrong or probing. So the rule is one, the same on every database, and
in one place: every statement's text parameters are checked as they leave
for the server (`create_engine` installs the check), and a statement with a
NUL is refused as bad input, whichever transport it came from: a GraphQL
argument, a search, a bot message, a CLI option. The request's transaction
rolls back, so nothing of it is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from backend.domain.errors import ValidationFailed

NUL = "\x00"


class TextWithNul(ValidationFailed):
    """A text value held U+0000, which no database field here may hold."""


def refuse_nul_characters(
    connection: Any,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    executemany: bool,
) -> None:
    """The `before_cursor_execute` hook: `TextWithNul` for a text parameter holding U+0000."""
    rows: Iterable[Any] = parameters if executemany else (parameters,)
    for row in rows:
        values = row.values() if isinstance(row, Mapping) else row or ()
        for value in values:
            if isinstance(value, str) and NUL in value:
                raise TextWithNul("text must not contain the NUL character (U+0000)")
