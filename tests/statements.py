"""The SQL statements an engine runs while a block runs: for budgets of round trips.

A test that promises "a handful of statements whatever the period" or "one
query per page" counts them here, so a change that adds a round trip fails a
budget instead of slowing production.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


@contextmanager
def statements_on(engine: AsyncEngine, keep: Callable[[str], bool]) -> Iterator[list[str]]:
    """The statements `engine` runs meanwhile that `keep` accepts, in order."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if keep(statement):
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


@contextmanager
def commits_on(engine: AsyncEngine, *, requests_only: bool = False) -> Iterator[list[str]]:
    """One entry per COMMIT `engine` sends meanwhile; with `requests_only`, those of
    HTTP requests alone (as `counting_statements`: the server's own schedule ticks,
    its broadcast sweep and its tasks share the engine)."""
    seen: list[str] = []

    def commit(_connection: Any) -> None:
        if not requests_only or in_a_request():
            seen.append("COMMIT")

    event.listen(engine.sync_engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "commit", commit)


def selects(engine: AsyncEngine) -> AbstractContextManager[list[str]]:
    """The SELECTs `engine` runs meanwhile."""
    return statements_on(engine, lambda statement: statement.lstrip().upper().startswith("SELECT"))


def counting_statements(engine: AsyncEngine) -> AbstractContextManager[list[str]]:
    """Statements run on `engine` for HTTP requests meanwhile (those with a request id
    and no task name): the server's own scheduler shares the engine and may tick in the
    middle, and its tasks carry a request id too. Transaction control (BEGIN, COMMIT,
    ROLLBACK) is left out."""
    return statements_on(engine, for_a_request)


def for_a_request(statement: str) -> bool:
    ours = not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK"))
    return in_a_request() and ours


def in_a_request() -> bool:
    """Whether the code running now serves an HTTP request (a request id, no task name)."""
    context = structlog.contextvars.get_contextvars()
    return "request_id" in context and "task" not in context
