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

from collections.abc import Iterator, Mapping
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
    if any(isinstance(value, str) and NUL in value for value in _values(parameters)):
        raise TextWithNul("text must not contain the NUL character (U+0000)")


def _values(parameters: Any) -> Iterator[Any]:
    """Every value of one statement's parameters, whatever their shape.

    One row (a tuple or a dict) or many (a list of them): `executemany` does not
    say which, since SQLAlchemy's batched INSERT passes one flattened row with it set.
    """
    if isinstance(parameters, Mapping):
        yield from parameters.values()
        return
    for item in parameters or ():
        if isinstance(item, Mapping):
            yield from item.values()
        elif isinstance(item, tuple | list):
            yield from item
        else:
            yield item
