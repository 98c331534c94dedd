"""How a server engine's pool hands connections out and takes them back: with no round trip
that the connection does not need.

SQLAlchemy's safe defaults cost two round trips on every transaction, and on
every read statement of a request (`StatementSession` checks a connection out
per statement): a ping when the connection is checked out (`pool_pre_ping`),
and a ROLLBACK when it comes back, even after a COMMIT that left nothing to
roll back. A `/start` of a returning customer made nine round trips of which
these were two, and each costs the API process about as much CPU as a
statement (issue 19, docs/benchmarks.md).

* **Ping only after idling.** A connection the server closed (a KILL, a
  restart) is replaced on checkout without asking: the driver saw the
  socket close. One that came back less than `PING_AFTER_IDLE` ago worked a
  moment ago; it is handed out unasked. One that sat longer is pinged, and
  replaced if the ping fails (the pool retries with a new connection, and
  forgets the other pooled ones: a dead connection most often means the
  server restarted). A connection lost in that second without a word (a
  network cut) fails its statement instead: the error makes SQLAlchemy
  replace every pooled connection, and a read runs once more on a fresh one
  (`StatementSession`), a transaction too (`run_in_transaction`), as they
  did when the connection died mid-statement.
* **Roll back only what is open (MySQL/MariaDB).** The server says in every
  answer whether a transaction is open (`SERVER_STATUS_IN_TRANS`); a
  connection whose last answer said none is returned as it is. SQLAlchemy
  rolls back itself whenever a session or connection closes with its
  transaction still open; this only spares the ROLLBACK after a COMMIT or a
  ROLLBACK. asyncpg's adapter already skips it on PostgreSQL.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolResetState

PING_AFTER_IDLE = 1.0  # seconds in the pool after which a connection is pinged before use
_RETURNED_AT = "dvorik_returned_at"


def install(engine: AsyncEngine, *, mysql: bool) -> None:
    """Ping on checkout after idling; on MySQL, roll back on return only when needed.

    The engine must be built with `pool_pre_ping=False` and, on MySQL,
    `pool_reset_on_return=None` (`backend.domain.database`): these take
    their place.
    """
    pool = engine.sync_engine.pool
    event.listen(pool, "checkin", _returned)
    event.listen(pool, "checkout", _ping_if_idle)
    if mysql:
        event.listen(pool, "reset", _roll_back_if_open)


def _returned(_dbapi_connection: Any, record: Any) -> None:
    record.info[_RETURNED_AT] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """A connection the server closed is replaced; one idle for longer than `PING_AFTER_IDLE`
    is pinged, and replaced if the ping fails."""
    if _closed_by_server(dbapi_connection.driver_connection):
        raise InvalidatePoolError("the server closed a pooled connection")
    returned_at = record.info.get(_RETURNED_AT)
    if returned_at is None or time.monotonic() - returned_at < PING_AFTER_IDLE:
        return  # new, or back a moment ago
    try:
        dbapi_connection.ping(False)
    except Exception as error:
        raise InvalidatePoolError(f"a pooled connection failed its ping: {error!r}") from error


def _closed_by_server(driver: Any) -> bool:
    """Whether the driver already saw the server close the connection (a KILL, a restart):
    the event loop reads the closing as it comes, so knowing it costs no round trip.

    asyncpg says so publicly; asyncmy only in `_stream_broken` (its socket closing, or
    the end of its stream seen), which `tests/domain/test_pooled_connections.py` holds.
    """
    is_closed = getattr(driver, "is_closed", None)
    if callable(is_closed):
        return bool(is_closed())
    return bool(getattr(driver, "_stream_broken", False))


def _roll_back_if_open(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
    """The reset on return, for MySQL's adapter: a ROLLBACK only if the server has a transaction
    open on the connection, or may have (no answer on record says otherwise)."""
    if not state.asyncio_safe or state.transaction_was_reset:
        return  # SQLAlchemy discards it, or has just rolled it back
    driver = getattr(dbapi_connection, "driver_connection", None)
    status = getattr(driver, "get_transaction_status", None)
    if status is not None and status() is False:
        return
    dbapi_connection.rollback()
