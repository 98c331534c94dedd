"""Engines and sessions for SQLite (embedded default), MySQL/MariaDB and PostgreSQL
(and their read replicas).

The engines are tuned so the same service code is correct on all three:

* MySQL/MariaDB and PostgreSQL run at READ COMMITTED, so a row another
  transaction just committed (a customer inserted by a parallel /start) is
  visible to the re-read that follows a duplicate-key error.
* SQLite starts every transaction with BEGIN IMMEDIATE, which serialises
  writers up front instead of failing one of them with "database is locked"
  when both try to upgrade a read lock; WAL keeps readers off writers' backs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from backend.domain import pooled_connections
from backend.domain.nul_characters import refuse_nul_characters

T = TypeVar("T")
log = logging.getLogger(__name__)

# MySQL error numbers that mean "try the whole transaction again".
_RETRYABLE_MYSQL_ERRORS = {1205, 1213}  # lock wait timeout, deadlock
# The same on PostgreSQL (SQLSTATE): serialization failure, deadlock, lock not available.
_RETRYABLE_POSTGRESQL_ERRORS = {"40001", "40P01", "55P03"}
# PostgreSQL SQLSTATEs (a class by its first two characters) that say the server is out of
# reach, not that the statement is wrong (`backend.outages` explains the choice).
UNREACHABLE_POSTGRESQL_STATES = frozenset(
    {
        "08",  # connection exceptions: cannot connect (08001), connection failure (08006)
        "57P01",  # terminated by an administrator (pg_terminate_backend, fast shutdown)
        "57P02",  # crash shutdown
        "57P03",  # cannot connect now (the server is starting or stopping)
        "53300",  # too many connections
    }
)
# What a PostgreSQL hot standby cancels a read with when the WAL it replays needs what the
# read holds ("conflict with recovery"): on a replica, a read meets no other serialization
# failure or deadlock. After max_standby_streaming_delay; the primary has no such conflict.
_RECOVERY_CONFLICT_STATES = frozenset({"40001", "40P01"})
CONNECT_TIMEOUT = 5  # seconds to open a server connection; an unreachable server fails fast
PROBE_TIMEOUT = 3.0  # seconds /health and /ready wait for the database's answer
POOL_TIMEOUT = 30.0  # seconds a statement waits for a pooled connection (overload) before failing
DEFAULT_POOL_SIZE = 10  # connections kept per engine; as many again may open under load
# Request reads running at once (see `StatementSession`): the pool's connections
# but a few, which stay for writes and health checks.
READ_CONCURRENCY = 2 * DEFAULT_POOL_SIZE - 4


def create_engine(
    url: str, *, echo: bool = False, pool_size: int = DEFAULT_POOL_SIZE, read_only: bool = False
) -> AsyncEngine:
    """An engine for `url`; `read_only` matters on SQLite only (see `_create_sqlite_engine`)."""
    engine = (
        _create_sqlite_engine(url, echo=echo, read_only=read_only)
        if url.startswith("sqlite")
        else _create_server_engine(url, echo=echo, pool_size=pool_size)
    )
    event.listen(engine.sync_engine, "before_cursor_execute", refuse_nul_characters)
    return engine


def _create_server_engine(url: str, *, echo: bool, pool_size: int) -> AsyncEngine:
    """MySQL/MariaDB or PostgreSQL at READ COMMITTED; the pool notices dropped connections."""
    if url.startswith("postgresql"):
        connection: dict[str, Any] = {"async_creator": _postgresql_connector(url)}
    else:
        connection = {"connect_args": {"connect_timeout": CONNECT_TIMEOUT}}
    # A pooled connection the server dropped (KILL, restart, wait_timeout) is
    # noticed on checkout and replaced, not handed to a request: pinged if it
    # idled, and returned without a needless ROLLBACK (`pooled_connections`).
    mysql = not url.startswith("postgresql")
    engine = create_async_engine(
        url,
        echo=echo,
        isolation_level="READ COMMITTED",
        pool_pre_ping=False,
        pool_reset_on_return=None if mysql else "rollback",
        pool_recycle=1800,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=POOL_TIMEOUT,
        **connection,
    )
    pooled_connections.install(engine, mysql=mysql)
    return engine


def _postgresql_connector(url: str) -> Callable[[], Awaitable[Any]]:
    """Opens asyncpg connections for `url`, within CONNECT_TIMEOUT.

    asyncpg lets a refused, timed-out or unresolvable connect escape as a bare
    OSError, which no code can tell from any other OSError. Here it becomes
    the driver's own "cannot connect" error (SQLSTATE 08001), which SQLAlchemy
    wraps as a DBAPIError like every other database error: the outage
    classification (`backend.outages`) and the retries see it like MySQL's 2003.
    """
    parsed = make_url(url)
    args, kwargs = parsed.get_dialect()().create_connect_args(parsed)

    async def connect() -> Any:
        try:
            return await asyncpg.connect(*args, timeout=CONNECT_TIMEOUT, **kwargs)
        except OSError as error:  # TimeoutError and socket.gaierror are OSErrors too
            raise asyncpg.exceptions.ClientCannotConnectError(str(error)) from error

    return connect


def _create_sqlite_engine(url: str, *, echo: bool, read_only: bool = False) -> AsyncEngine:
    """SQLite with WAL; writers BEGIN IMMEDIATE, a read-only engine's readers BEGIN DEFERRED.

    A read transaction that took the write lock would block every writer for
    as long as a request (or a WebSocket) holds its read session.
    """
    in_memory = ":memory:" in url or url.rstrip("/").endswith("sqlite+aiosqlite:")
    engine = create_async_engine(
        url,
        echo=echo,
        connect_args={"timeout": 30},
        poolclass=None if in_memory else NullPool,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop the driver from issuing its own BEGIN; `_on_begin` issues ours.
        dbapi_connection.isolation_level = None
        # SQLite's lower() knows only ASCII; customers' names are Cyrillic.
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def create_read_sessionmaker(
    engine: AsyncEngine, *, concurrency: int = READ_CONCURRENCY
) -> async_sessionmaker[AsyncSession]:
    """Sessions for request reads: on a pooled engine, each hands its connection back
    after every statement and at most `concurrency` statements run at once, admitted
    in arrival order (`StatementSession`); SQLite's NullPool engines need neither."""
    if engine.dialect.name == "sqlite":
        return create_sessionmaker(engine)
    return async_sessionmaker(
        engine,
        class_=StatementSession,
        expire_on_commit=False,
        turns=asyncio.Semaphore(concurrency),
    )


class StatementSession(AsyncSession):
    """A read session that returns its pooled connection after every statement.

    Request code (GraphQL resolvers, DataLoaders) takes a read session each
    and keeps it until the request ends. Holding a pooled connection that long
    deadlocks under load: a request holding one connection waits for a second
    one that other requests, each holding one, wait for too (hold and wait),
    until every request times out. Here each statement checks a connection
    out and back in, so a request never holds one while it waits for another.

    At READ COMMITTED a transaction spanning statements promises nothing more
    than each statement alone, so ending it after each costs no consistency;
    what was loaded stays usable (`expire_on_commit=False`). Not for writes and
    not inside an explicit `begin()`: it would commit halfway.

    A statement whose connection died under it (server restart, KILL) is run
    once more on a fresh connection: a read is safe to repeat.

    Statements take turns (`turns`, a semaphore below the pool's size shared by
    the sessionmaker's sessions): asyncio's semaphore admits waiters in
    arrival order, while the pool's queue lets a newcomer take a connection
    just handed to a waiter, which under overload starves some statements
    until the pool timeout fails them. With turns, overload means a fair
    queue, never an error; writes keep the rest of the pool.
    """

    def __init__(self, *args: Any, turns: asyncio.Semaphore | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turns = turns

    # Every AsyncSession method that runs SQL by itself (`scalars` goes through
    # `execute`); a statement that bypassed these would keep its connection.
    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        return await self._statement(super().execute, *args, **kwargs)

    async def scalar(self, *args: Any, **kwargs: Any) -> Any:
        return await self._statement(super().scalar, *args, **kwargs)

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        return await self._statement(super().get, *args, **kwargs)

    async def get_one(self, *args: Any, **kwargs: Any) -> Any:
        return await self._statement(super().get_one, *args, **kwargs)

    async def refresh(self, *args: Any, **kwargs: Any) -> None:
        await self._statement(super().refresh, *args, **kwargs)

    async def _statement(self, run: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Run one statement in its own transaction; once more if the connection died under it.

        A read is safe to repeat, and the second try gets a live connection (a
        lost connection makes the pool replace all it holds, and one that idled
        is pinged first: `pooled_connections`): a server that dropped (or
        killed) a connection costs the request nothing.
        """
        async with self._turns or contextlib.nullcontext():
            for attempt in (1, 2):
                try:
                    result = await run(*args, **kwargs)
                except BaseException as error:
                    await self._end(commit=False)
                    if attempt == 1 and is_disconnect(error) and not self.in_transaction():
                        log.warning("read retried on a new connection: %s", type(error).__name__)
                        continue
                    raise
                await self._end(commit=True)
                return result
        raise AssertionError("unreachable")

    async def _end(self, *, commit: bool) -> None:
        if not self.in_transaction() or self.in_nested_transaction():
            return
        if commit and not (self.new or self.dirty or self.deleted):
            await self.commit()  # buffered results and loaded rows outlive it
        elif not commit:
            try:
                await self.rollback()
            except Exception:  # the statement's own error is the one to report
                log.debug("rollback after a failed read failed too", exc_info=True)


def create_replica_engine(url: str) -> AsyncEngine:
    """An engine for a read replica: as the primary's, with a smaller pool.

    Only request reads use it (`create_replica_sessionmaker`), never writes or
    health checks, so it keeps no connections back for them.
    """
    return create_engine(url, pool_size=READ_CONCURRENCY // 2)


def create_replica_sessionmaker(
    replica: AsyncEngine,
    primary: AsyncEngine,
    *,
    concurrency: int = READ_CONCURRENCY,
    on_fallback: Callable[[], None] | None = None,
) -> async_sessionmaker[AsyncSession]:
    """Read sessions on the replica whose statements the primary runs if the replica fails them;
    `on_fallback` is told each time a session falls back (a metric counts it)."""
    return async_sessionmaker(
        replica,
        class_=ReplicaSession,
        expire_on_commit=False,
        turns=asyncio.Semaphore(concurrency),
        primary=primary,
        on_fallback=on_fallback,
    )


class ReplicaSession(StatementSession):
    """A `StatementSession` on a read replica that falls back to the primary.

    The replica's state is probed every second, but between two probes it may
    die or refuse connections: a statement it fails with a connection error
    (after `StatementSession`'s own retry), or that a PostgreSQL standby
    cancels for a conflict with recovery (`replica_failed`), runs on the
    primary instead, and so does the rest of the session's statements. A read
    is safe to repeat.
    """

    def __init__(
        self,
        *args: Any,
        primary: AsyncEngine,
        on_fallback: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._primary = primary
        self._on_fallback = on_fallback
        self.on_primary = False

    async def _statement(self, run: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        try:
            return await super()._statement(run, *args, **kwargs)
        except DBAPIError as error:
            if self.on_primary or not replica_failed(error):
                raise
            log.warning("replica failed a read, run on the primary: %s", type(error).__name__)
            self.bind, self.on_primary = self._primary, True
            if self._on_fallback is not None:
                self._on_fallback()
            return await super()._statement(run, *args, **kwargs)


def replica_failed(error: DBAPIError) -> bool:
    """The replica, not the statement, failed: the primary would run it.

    The replica cannot be reached or dropped the connection (MySQL's drivers
    raise every such error as an OperationalError; asyncpg's reach SQLAlchemy
    as plain DBAPIErrors, told apart by their SQLSTATE), or, a PostgreSQL hot
    standby, cancelled the read for a conflict with the WAL it replays.
    """
    return (
        isinstance(error, OperationalError)
        or is_disconnect(error)
        or is_unreachable_postgresql(error)
        or getattr(error.orig, "sqlstate", None) in _RECOVERY_CONFLICT_STATES
    )


def is_unreachable_postgresql(error: DBAPIError) -> bool:
    """PostgreSQL's SQLSTATE of `error` says the server is out of reach."""
    state = getattr(error.orig, "sqlstate", None)
    return isinstance(state, str) and (
        state in UNREACHABLE_POSTGRESQL_STATES or state[:2] in UNREACHABLE_POSTGRESQL_STATES
    )


def is_retryable(error: BaseException) -> bool:
    """A deadlock, lock timeout or serialization failure: the database asks us to run
    the transaction again."""
    if not isinstance(error, OperationalError | DBAPIError):
        return False
    if getattr(error.orig, "sqlstate", None) in _RETRYABLE_POSTGRESQL_ERRORS:
        return True
    args: tuple[object, ...] = getattr(error.orig, "args", ())
    return bool(args) and args[0] in _RETRYABLE_MYSQL_ERRORS


def is_disconnect(error: BaseException) -> bool:
    """The connection died under a statement (server restart, KILL, network cut).

    The server rolls back what that connection had not committed, so running
    the transaction again on a new connection is safe, unless the connection
    died during COMMIT: then nobody knows whether it committed.
    """
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


async def run_in_transaction(
    sessions: async_sessionmaker[AsyncSession],
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    attempts: int = 5,
) -> T:
    """Run `work` in one transaction, retrying it whole on a deadlock or a lost connection.

    A connection lost before COMMIT was sent is retried on a fresh one (the
    pool replaces dead connections: `pooled_connections`); one lost during COMMIT is
    raised, as a retry could apply the work twice.
    """
    for attempt in range(1, attempts + 1):
        committing = False
        try:
            async with sessions() as session, session.begin():
                result = await work(session)
                committing = True  # leaving the block commits
            return result
        except (OperationalError, DBAPIError) as error:
            retry = is_retryable(error) or (is_disconnect(error) and not committing)
            if attempt == attempts or not retry:
                raise
            await asyncio.sleep(0.01 * attempt)
    raise AssertionError("unreachable")


async def database_state(engine: AsyncEngine, *, within: float = PROBE_TIMEOUT) -> str:
    """'ok' or a short description of why the database does not answer.

    Bounded in time: a server that accepts connections but never answers
    (hung, or a connection pool drained by a stuck load) must make the probe
    say so within a load balancer's probe timeout, not hang with it.
    """
    try:
        async with asyncio.timeout(within), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except TimeoutError:
        return f"unavailable: no answer within {within:g} s"
    except Exception as error:  # reported, not raised: this is a health probe
        return f"unavailable: {type(error).__name__}"
    return "ok"
