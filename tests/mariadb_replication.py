"""A MariaDB primary and a replicating replica of the test's own, on loopback ports 33070-33099.

Both are real `mariadbd` processes on data directories made by
`mariadb-install-db` in a temporary directory; the replica follows the
primary by GTID (`CHANGE MASTER TO … MASTER_USE_GTID=slave_pos`) and is
read_only. The app connects as `dvorik`, a user without the privileges that
bypass read_only, and the replica's general log (a table) records what every
connection ran, so a test can tell the app's statements from replication's.
`replicated_mariadb` kills both and removes their directories, also when the
test fails.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.domain.database import create_engine
from tests.databases import in_ci
from tests.replication import AppStatements, DatabaseProcess, free_ports, wait_until

PORTS = range(33070, 33100)
DATABASE = "dvorik"
APP_USER = "dvorik"
# Set again after each start: a server forgets SET GLOBAL when it stops.
REPLICA_GLOBALS = (
    "SET GLOBAL read_only = 1",
    "SET GLOBAL log_output = 'TABLE'",
    "SET GLOBAL general_log = 1",
)


@dataclass
class MariaDBServer(DatabaseProcess):
    server_id: int

    @property
    def log(self) -> Path:
        return self.root / (self.name + ".err")

    def admin_url(self) -> str:
        return f"mysql+asyncmy://root@127.0.0.1:{self.port}/mysql"

    def app_url(self) -> str:
        """The URL the app is given: its own database, as the unprivileged app user."""
        return f"mysql+asyncmy://{APP_USER}:{APP_USER}@127.0.0.1:{self.port}/{DATABASE}"

    def install(self) -> None:
        installed = subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                "--user=root",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            check=False,
            capture_output=True,
            timeout=120,
        )
        if installed.returncode != 0:
            output = (installed.stdout + installed.stderr).decode(errors="replace")
            raise AssertionError(f"mariadb-install-db failed:\n{output[-3000:]}")

    def launch(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                "mariadbd",
                "--no-defaults",
                "--user=root",
                f"--datadir={self.datadir}",
                f"--port={self.port}",
                f"--socket={self.root / (self.name + '.sock')}",
                f"--pid-file={self.root / (self.name + '.pid')}",
                f"--log-error={self.log}",
                f"--server-id={self.server_id}",
                f"--log-bin={self.datadir / 'binlog'}",
                "--binlog-format=ROW",
                "--skip-networking=0",
                "--bind-address=127.0.0.1",
                "--innodb-buffer-pool-size=32M",
                "--innodb-log-file-size=16M",
                "--skip-name-resolve",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )


@dataclass
class MariaDBReplication(AppStatements):
    primary: MariaDBServer
    replica: MariaDBServer
    # The app's engine on the primary (its database, its user), for migrations and factories.
    primary_app_engine: AsyncEngine = field(init=False)

    def __post_init__(self) -> None:
        self.primary_app_engine = create_engine(self.primary.app_url())

    async def pause(self) -> None:
        """Replication stops applying (it still receives): the replica's data stands still."""
        await self.replica.sql("STOP SLAVE SQL_THREAD")

    async def resume(self) -> None:
        await self.replica.sql("START SLAVE")

    async def restart_replica(self) -> None:
        """Start the killed replica again: replication resumes by itself from its GTID."""
        await self.replica.start()
        await self.replica.sql(*REPLICA_GLOBALS)

    async def caught_up(self) -> bool:
        """Whether the replica has applied everything the primary has logged."""
        (position,) = (await self.primary.sql("SELECT @@gtid_binlog_pos"))[0]
        (applied,) = (await self.replica.sql("SELECT @@gtid_slave_pos"))[0]
        return bool(position == applied)

    async def app_statements(self) -> list[str]:
        """What the app's connections ran on the replica (its general log), oldest first."""
        rows = await self.replica.sql(
            "SELECT CONVERT(argument USING utf8mb4) FROM mysql.general_log"
            " WHERE user_host LIKE 'dvorik[%' AND command_type = 'Query'"  # APP_USER's
            " ORDER BY event_time"
        )
        return [str(row[0]) for row in rows]


async def set_up(replication: MariaDBReplication) -> None:
    """The app's database and user on the primary; the replica following it, read-only,
    logging every statement to mysql.general_log."""
    primary, replica = replication.primary, replication.replica
    await primary.sql(
        f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        f"CREATE USER '{APP_USER}'@'127.0.0.1' IDENTIFIED BY '{APP_USER}'",
        f"GRANT ALL ON {DATABASE}.* TO '{APP_USER}'@'127.0.0.1'",
    )
    await replica.sql(
        *REPLICA_GLOBALS,
        f"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={primary.port},"
        " MASTER_USER='root', MASTER_PASSWORD='', MASTER_CONNECT_RETRY=1,"
        " MASTER_USE_GTID=slave_pos",
        "START SLAVE",
    )
    await wait_until(replication.caught_up, "the replica to follow the primary")


@asynccontextmanager
async def replicated_mariadb() -> AsyncIterator[MariaDBReplication]:
    """A fresh primary and replica; both killed and their files removed on the way out."""
    if shutil.which("mariadbd") is None or shutil.which("mariadb-install-db") is None:
        message = "mariadbd and mariadb-install-db are needed to start a replica pair"
        if in_ci():
            pytest.fail(message + " (CI=true)", pytrace=False)
        pytest.skip(message)
    primary_port, replica_port = free_ports(PORTS, 2)
    root = Path(tempfile.mkdtemp(prefix="dvorik-replication-"))
    replication = MariaDBReplication(
        MariaDBServer("primary", primary_port, root, server_id=1),
        MariaDBServer("replica", replica_port, root, server_id=2),
    )
    servers = (replication.primary, replication.replica)
    try:
        for server in servers:
            server.install()
        await asyncio.gather(*(server.start() for server in servers))
        await set_up(replication)
        yield replication
    finally:
        await replication.primary_app_engine.dispose()
        for server in servers:
            server.kill()
            await server.engine.dispose()
        shutil.rmtree(root, ignore_errors=True)
