"""A PostgreSQL primary and a streaming replica of the test's own, on loopback ports 54370-54399.

Both are real `postgres` processes of PostgreSQL 15 (TEST_POSTGRESQL_BIN, by
default Debian's /usr/lib/postgresql/15/bin), run as the `postgres` OS user
when the tests run as root (initdb refuses root), on data directories in a
temporary directory. The
replica is a hot standby made by `pg_basebackup -R` from the running primary,
streaming through a replication slot, so a killed and restarted replica
resumes where it stopped. The app connects as `dvorik`, a login role owning
its database and nothing more; both servers log every statement
(`log_statement=all`) to their own file, each line prefixed with its role, so
a test can tell the app's statements from its own. `replicated_postgresql`
kills both and removes their directories, also when the test fails.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.domain.database import create_engine
from tests.databases import in_ci
from tests.replication import AppStatements, DatabaseProcess, free_ports, wait_until

BIN = Path(os.environ.get("TEST_POSTGRESQL_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "postgres"  # the cluster's own superuser, the test's connections
# initdb and postgres refuse to run as root: as root, the servers run as the `postgres`
# OS user (Debian's package makes it); as anyone else, as that user.
OS_USER = "postgres" if os.geteuid() == 0 else None
PORTS = range(54370, 54400)
DATABASE = "dvorik"
APP_USER = "dvorik"
SLOT = "dvorik_replica"
LOG_PREFIX = "[statement-log role=%u] "
# One entry of a server's log: the role, the level, and the message up to the next entry
# (a multi-line statement's further lines start with a tab, never with the prefix).
LOG_ENTRY = re.compile(
    r"^\[statement-log role=(\w*)\] (\w+):  (.*?)(?=^\[statement-log |\Z)", re.M | re.S
)
# "statement: …" (simple protocol) or "execute <name>: …" (asyncpg's prepared statements).
STATEMENT = re.compile(r"(?:statement|execute [^:]*): (.*)", re.S)
SERVER_SETTINGS = (
    "listen_addresses=127.0.0.1",
    "wal_level=replica",
    "hot_standby=on",
    "fsync=off",  # the test's throwaway data: nothing to keep over a power cut
    "shared_buffers=16MB",
    "max_connections=60",
    "log_statement=all",
    f"log_line_prefix={LOG_PREFIX}",
    "logging_collector=off",  # the server's stderr is the log file the test reads
)


@dataclass
class PostgreSQLServer(DatabaseProcess):
    settings: Sequence[str] = ()  # more `-c` settings, over SERVER_SETTINGS

    @property
    def log(self) -> Path:
        return self.root / (self.name + ".log")

    def admin_url(self) -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def app_url(self) -> str:
        """The URL the app is given: its own database, as the app's role."""
        return f"postgresql+asyncpg://{APP_USER}:{APP_USER}@127.0.0.1:{self.port}/{DATABASE}"

    def initdb(self) -> None:
        """A new cluster, UTF-8 with a UTF-8 locale (Dvorik's case folding needs one)."""
        run_as_postgres(
            self.root,
            BIN / "initdb",
            f"--pgdata={self.datadir}",
            "--locale=C.UTF-8",
            "--encoding=UTF8",
            "--auth=trust",  # loopback only, replication included
            f"--username={SUPERUSER}",
            "--no-sync",
        )

    def base_backup_of(self, primary: PostgreSQLServer) -> None:
        """This server's data directory as a standby of `primary` (`-R`: standby.signal and
        primary_conninfo written), following it through a replication slot (`-C -S`)."""
        run_as_postgres(
            self.root,
            BIN / "pg_basebackup",
            f"--pgdata={self.datadir}",
            "--host=127.0.0.1",
            f"--port={primary.port}",
            f"--username={SUPERUSER}",
            "--write-recovery-conf",
            "--create-slot",
            f"--slot={SLOT}",
            "--checkpoint=fast",
            "--no-sync",
        )

    def launch(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as log:
            return subprocess.Popen(
                [
                    str(BIN / "postgres"),
                    "-D",
                    str(self.datadir),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.root),  # its Unix socket
                    *(part for s in (*SERVER_SETTINGS, *self.settings) for part in ("-c", s)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                user=OS_USER,
                group=OS_USER,
                start_new_session=True,
            )

    def statements_of(self, role: str) -> list[str]:
        """What connections of `role` ran on this server, oldest first, from its log."""
        entries = LOG_ENTRY.findall(self.log.read_text(errors="replace"))
        ran = (STATEMENT.match(message) for who, level, message in entries if who == role)
        return [found[1].rstrip().replace("\n\t", "\n") for found in ran if found]


def run_as_postgres(root: Path, program: Path, *args: str) -> None:
    """Run one of PostgreSQL's programs as the servers' OS user; its output on failure."""
    done = subprocess.run(
        [str(program), *args],
        cwd=root,
        user=OS_USER,
        group=OS_USER,
        capture_output=True,
        timeout=120,
    )
    if done.returncode != 0:
        output = (done.stdout + done.stderr).decode(errors="replace")
        raise AssertionError(f"{program.name} failed ({done.returncode}): {output[-2000:]}")


@dataclass
class PostgreSQLReplication(AppStatements):
    primary: PostgreSQLServer
    replica: PostgreSQLServer
    # The app's engine on the primary (its database, its role), for migrations and factories.
    primary_app_engine: AsyncEngine = field(init=False)

    def __post_init__(self) -> None:
        self.primary_app_engine = create_engine(self.primary.app_url())

    async def pause(self) -> None:
        """The standby stops replaying WAL (it still receives it): its data stands still.

        Replay pauses at its next record, so this waits until it has.
        """
        await self.replica.sql("SELECT pg_wal_replay_pause()")
        await wait_until(self._paused, "WAL replay to pause on the replica")

    async def _paused(self) -> bool:
        return bool(await self.replica.value("SELECT pg_get_wal_replay_pause_state()") == "paused")

    async def resume(self) -> None:
        await self.replica.sql("SELECT pg_wal_replay_resume()")

    async def restart_replica(self) -> None:
        """Start the killed replica again: it recovers and streams on from its slot."""
        await self.replica.start()

    async def caught_up(self) -> bool:
        """Whether the standby has replayed the primary's WAL up to where it was when asked."""
        written = await self.primary.value("SELECT pg_current_wal_lsn()::text")
        replayed = f"SELECT pg_last_wal_replay_lsn() >= '{written}'::pg_lsn"
        return bool(await self.replica.value(replayed))

    async def app_statements(self) -> list[str]:
        """What the app's connections ran on the replica, but asyncpg's look-ups of types in
        the system catalog when it opens a connection: they read no data of Dvorik's."""
        return [s for s in self.replica.statements_of(APP_USER) if "pg_catalog." not in s]


async def set_up(replication: PostgreSQLReplication) -> None:
    """The app's role and database on the primary, and the standby following it."""
    await replication.primary.sql(
        f"CREATE ROLE {APP_USER} LOGIN PASSWORD '{APP_USER}'",
        f"CREATE DATABASE {DATABASE} OWNER {APP_USER} ENCODING 'UTF8' TEMPLATE template0",
    )
    await wait_until(replication.caught_up, "the replica to follow the primary")


def check_binaries() -> None:
    """Skip without PostgreSQL's server programs (fail under CI=true, which must run this)."""
    missing = [p for p in ("initdb", "pg_basebackup", "postgres") if not (BIN / p).exists()]
    if missing:
        message = f"PostgreSQL's {', '.join(missing)} are needed in {BIN} to start a replica pair"
        if in_ci():
            pytest.fail(message + " (CI=true)", pytrace=False)
        pytest.skip(message)


@asynccontextmanager
async def replicated_postgresql(
    replica_settings: Sequence[str] = (),
) -> AsyncIterator[PostgreSQLReplication]:
    """A fresh primary and streaming replica (with `replica_settings` too, "name=value");
    both killed and their files removed on the way out."""
    check_binaries()
    primary_port, replica_port = free_ports(PORTS, 2)
    root = Path(tempfile.mkdtemp(prefix="dvorik-pg-replication-"))
    if OS_USER is not None:
        shutil.chown(root, OS_USER, OS_USER)
    replication = PostgreSQLReplication(
        PostgreSQLServer("primary", primary_port, root),
        PostgreSQLServer("replica", replica_port, root, settings=replica_settings),
    )
    servers = (replication.primary, replication.replica)
    try:
        await asyncio.to_thread(replication.primary.initdb)
        await replication.primary.start()
        await asyncio.to_thread(replication.replica.base_backup_of, replication.primary)
        await replication.replica.start()
        await set_up(replication)
        yield replication
    finally:
        await replication.primary_app_engine.dispose()
        for server in servers:
            server.kill()
            await server.engine.dispose()
        shutil.rmtree(root, ignore_errors=True)
