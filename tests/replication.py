"""What the read-replica tests do with a primary and replica they start, on either server.

`tests.mariadb_replication` and `tests.postgresql_replication` each start a
pair of real servers of the test's own; `Replication` is what a test may do
with either (`tests.read_replicas.replicated` picks one by name), so one test
proves the routing on both. Each helper reads the replica's own record of
what the app's connections ran; the filters here turn it into the app's reads
and writes, the same way on both servers.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

START_WITHIN = 60.0  # seconds for a database server to answer after it was started
# Statements that change data or schema: the app must never send one to the replica.
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|ALTER|DROP|TRUNCATE)\b", re.I)


class ReplicaServer(Protocol):
    def app_url(self) -> str:
        """The URL the app is given for this server (its database, as the app's user)."""
        ...

    def kill(self) -> None:
        """SIGKILL the server and all its processes: an outage, not a shutdown."""
        ...


class Replication(Protocol):
    """A primary and a replica following it, both of the test's own."""

    @property
    def primary_app_engine(self) -> AsyncEngine: ...

    @property
    def replica(self) -> ReplicaServer: ...

    async def pause(self) -> None:
        """The replica stops applying what it receives: its data stands still from now on."""

    async def resume(self) -> None: ...

    async def restart_replica(self) -> None:
        """Start the killed replica again; replication resumes by itself."""

    async def caught_up(self) -> bool:
        """Whether the replica has applied everything the primary had committed when asked."""
        ...

    async def app_reads(self) -> list[str]: ...

    async def app_writes(self) -> list[str]: ...


@dataclass
class DatabaseProcess(ABC):
    """One database server of a test's own: started on its data directory, asked, killed."""

    name: str
    port: int
    root: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    # The test's own connection, as the superuser, in autocommit.
    engine: AsyncEngine = field(init=False)

    def __post_init__(self) -> None:
        self.engine = create_async_engine(
            self.admin_url(), poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )

    @property
    def datadir(self) -> Path:
        return self.root / self.name

    @property
    @abstractmethod
    def log(self) -> Path:
        """The server's own log file."""

    @abstractmethod
    def admin_url(self) -> str:
        """The URL of the test's own connection: the superuser, on loopback."""

    @abstractmethod
    def launch(self) -> subprocess.Popen[bytes]:
        """Start the server in a session of its own (`kill` ends the whole group)."""

    async def start(self) -> None:
        """Start the server on its data directory and wait until it answers."""
        self.process = self.launch()
        await wait_answering(self.name, self.process, lambda: self.sql("SELECT 1"), self.log_tail)

    def kill(self) -> None:
        kill_group(self.process)
        self.process = None

    async def sql(self, *statements: str) -> list[Sequence[Any]]:
        """Run `statements` as the superuser; the rows of the last one."""
        rows: list[Sequence[Any]] = []
        async with self.engine.connect() as connection:
            for statement in statements:
                result = await connection.execute(text(statement))
                rows = list(result.all()) if result.returns_rows else []
        return rows

    async def value(self, query: str) -> Any:
        """The one value `query` answers."""
        ((answer,),) = await self.sql(query)
        return answer

    def log_tail(self) -> str:
        log = self.log
        return log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"


class AppStatements(ABC):
    """The app's reads and writes on the replica, from what its connections ran there."""

    @abstractmethod
    async def app_statements(self) -> list[str]:
        """What the app's connections ran on the replica, oldest first."""

    async def app_reads(self) -> list[str]:
        """The app's SELECTs on the replica, but the heartbeat probe's: what requests read there."""
        return [
            s
            for s in await self.app_statements()
            if s.lstrip().upper().startswith("SELECT") and "heartbeat" not in s
        ]

    async def app_writes(self) -> list[str]:
        """Whatever the app's connections tried to change on the replica (the server refuses it)."""
        return [s for s in await self.app_statements() if WRITES.match(s)]


# pytest-xdist workers that may start servers at once: each scans its own share of a
# range, so two never pick the same free port before either server has bound it.
WORKERS_SHARING_PORTS = 3


def free_ports(ports: range, count: int) -> list[int]:
    """`count` free ports in this xdist worker's share of `ports` (a helper's own range)."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    share = len(ports) // WORKERS_SHARING_PORTS
    own = ports[worker * share : (worker + 1) * share]
    found: list[int] = []
    for port in own:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise AssertionError(f"no {count} free ports in {own} (xdist worker {worker})")


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, within: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def wait_answering(
    name: str,
    process: subprocess.Popen[bytes],
    ask: Callable[[], Awaitable[object]],
    log_tail: Callable[[], str],
) -> None:
    """Wait until a server just started answers `ask`; fail at once if its process exits."""
    deadline = asyncio.get_running_loop().time() + START_WITHIN
    while True:
        if process.poll() is not None:
            raise AssertionError(f"{name} exited: {log_tail()}")
        try:
            await ask()
            return
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{name} did not answer: {log_tail()}") from None
            await asyncio.sleep(0.2)


def kill_group(process: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL a server started in its own session, with every process it forked."""
    if process is None:
        return
    with suppress(ProcessLookupError):  # the group is gone already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
