"""Which errors mean "a service we need is unreachable: retry in a moment", and nothing else.

Transports ask `is_outage` to tell an outage from a bug: GraphQL answers it
with `UNAVAILABLE` instead of `INTERNAL` (`backend.graphql.errors`), the bot
webhooks with HTTP 503 instead of an apology, so Telegram delivers the update
again (`backend.bots.webhooks`). The classification is deliberately narrow:
an outage is something that waiting cures, with nothing wrong in the request
or in our code.

An outage:

* the database cannot be reached or dropped the connection: SQLAlchemy
  noticed the connection died (`connection_invalidated`: server gone away,
  connection lost mid-query, killed, a closed SQLite handle), or MySQL/MariaDB
  refused or lost it with one of `UNREACHABLE_MYSQL_ERRORS` (SQLAlchemy does
  not count "can't connect" (2003) as a disconnect, yet it is the error of
  every request while the server is down), or PostgreSQL with a SQLSTATE of
  `UNREACHABLE_POSTGRESQL_STATES` (class 08, connection exceptions, which
  includes the refused connect `create_engine` turns into 08001; the server
  shutting down or starting; too many connections; kept in
  `backend.domain.database`, where a read replica failing so sends its reads
  to the primary);
* no pooled connection came free within the pool timeout
  (`sqlalchemy.exc.TimeoutError`), or the pool could not replace a dead one
  (`DisconnectionError`): the database is saturated or hanging;
* Redis refused, dropped or did not answer (`redis.ConnectionError`,
  `redis.TimeoutError`, including "loading the dataset" and a full client
  pool);
* a task could not be queued for one of the above (taskiq's `SendTaskError`
  caused by it).

Not an outage, though some look alike:

* a lock wait timeout (1205, PostgreSQL 55P03), a deadlock (1213, 40P01) or a
  serialization failure (40001): the database is up and
  answering; `run_in_transaction` already retried the transaction, so what
  is left is contention or a transaction held open too long, a bug to look
  at (SQLite's "database is locked" after its 30 s busy timeout likewise);
* wrong credentials or an unknown database (1045, 1049, PostgreSQL 28P01,
  3D000, Redis' `AuthenticationError`): configuration, which waiting does not cure;
* SQL errors (a missing table, a syntax or constraint error), Redis'
  `ResponseError` (a wrong type, a script error): bugs;
* anything from Telegram (a reply that failed after our work committed): the
  Bot API is not ours, and a redelivery would repeat what already happened.
"""

from __future__ import annotations

from redis.exceptions import AuthenticationError, AuthorizationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from taskiq.exceptions import SendTaskError

from backend.domain.database import is_disconnect, is_unreachable_postgresql

# MySQL/MariaDB error numbers that say the server is out of reach, not that the request is wrong.
UNREACHABLE_MYSQL_ERRORS = frozenset(
    {
        1040,  # too many connections
        1053,  # server shutdown in progress
        1927,  # connection killed (MariaDB)
        2002,  # can't connect through the socket
        2003,  # can't connect to the server (refused, timed out)
        2005,  # unknown server host (DNS)
        2006,  # server has gone away
        2013,  # lost connection during query
        2055,  # lost connection (system error)
        4031,  # disconnected by the server for inactivity
    }
)
# Redis connection errors that are configuration, not an outage.
_MISCONFIGURED_REDIS = (AuthenticationError, AuthorizationError)


def is_outage(error: BaseException) -> bool:
    """Whether `error` means the database, Redis or the task queue is unreachable just now."""
    return outage_of(error) is not None


def outage_of(error: BaseException) -> str | None:
    """What is unreachable ("database", "Redis", "task queue"), or None if `error` is no outage."""
    if isinstance(error, SendTaskError):
        cause = error.__cause__
        return "task queue" if cause is not None and is_outage(cause) else None
    if isinstance(error, RedisConnectionError | RedisTimeoutError):
        return None if isinstance(error, _MISCONFIGURED_REDIS) else "Redis"
    if isinstance(error, PoolTimeout | DisconnectionError):
        return "database"
    if isinstance(error, DBAPIError) and (
        is_disconnect(error)
        or _mysql_error_number(error) in UNREACHABLE_MYSQL_ERRORS
        or is_unreachable_postgresql(error)
    ):
        return "database"
    return None


def describe(error: BaseException) -> str:
    """One line for the log: what is unreachable and the error's kind (no SQL, no values)."""
    number = _error_code(error) if isinstance(error, DBAPIError) else None
    kind = type(error).__name__ if number is None else f"{type(error).__name__} {number}"
    cause = error.__cause__
    if isinstance(error, SendTaskError) and cause is not None:
        kind = f"{kind} ({type(cause).__name__})"
    return f"{outage_of(error) or 'a service'} unreachable: {kind}"


def _mysql_error_number(error: DBAPIError) -> int | None:
    args: tuple[object, ...] = getattr(error.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _error_code(error: DBAPIError) -> int | str | None:
    """MySQL's error number or PostgreSQL's SQLSTATE, for the log."""
    state = getattr(error.orig, "sqlstate", None)
    return state if isinstance(state, str) else _mysql_error_number(error)
