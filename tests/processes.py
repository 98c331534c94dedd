"""Run `dvorik` as a user would: a real process, a real port, real HTTP."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.databases import in_ci

ROOT = Path(__file__).resolve().parent.parent
DVORIK = [sys.executable, "-m", "backend.cli"]


def environment(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "HTTP_"))}
    env.update(overrides)
    return env


def dvorik(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DVORIK, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Importing the app costs about 10 s of CPU here; on a machine twice as slow with
# a core kept busy (and xdist's other worker starting its own) that nears 40 s.
START_UP_SECONDS = 90.0


def wait_for_http(
    url: str, process: subprocess.Popen[bytes], seconds: float = START_UP_SECONDS
) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"process exited with {process.returncode} before serving {url}")
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds} s")


@contextmanager
def running(
    command: list[str], env: dict[str, str], cwd: Path = ROOT
) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 15)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()


# --- Fault tests: processes the test starts, kills and restarts itself ------------------------


def spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start `command` in its own session, its output appended to `log` (read it on failure)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def terminate(process: subprocess.Popen[bytes], seconds: float = 15) -> int:
    """SIGTERM, wait up to `seconds`, then SIGKILL; returns the exit code."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode


def tail(log: Path, lines: int = 40) -> str:
    """The end of a process log, for assertion messages."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {log})"


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


class RedisServer:
    """A redis-server of the test's own on a free port, without persistence.

    The shared Redis must never be killed; this one may be, mid-test, and
    started again on the same port (empty: `--save ""`, no AOF, as a Redis
    that lost its memory).
    """

    def __init__(self, log: Path, options: Sequence[str] = ()) -> None:
        self.port = free_port()
        self.log = log
        self.options = tuple(options)  # more redis-server options (`--replicaof`, ...)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, seconds: float = 10) -> None:
        command = [
            "redis-server",
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--protected-mode", "no",
            *self.options,
        ]  # fmt: skip
        self.process = spawn(command, dict(os.environ), self.log)
        deadline = time.monotonic() + seconds
        while not self.answers():
            if self.process.poll() is not None:
                raise AssertionError(f"redis-server exited:\n{tail(self.log)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"redis-server did not answer within {seconds} s")
            time.sleep(0.05)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: connections drop at once and everything in memory is gone."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            terminate(self.process, seconds=5)


@contextmanager
def redis_server(log: Path, options: Sequence[str] = ()) -> Iterator[RedisServer]:
    """A RedisServer started for the block (skipped without the binary, failed under CI=true)."""
    if shutil.which("redis-server") is None:
        message = "the redis-server binary is not installed"
        if in_ci():
            pytest.fail(message + " (CI=true)", pytrace=False)
        pytest.skip(message)
    server = RedisServer(log, options)
    server.start()
    try:
        yield server
    finally:
        server.stop()


_DVORIK_SETTINGS = (
    "DATABASE_", "REDIS_", "TELEGRAM_", "ENVIRONMENT", "JWT_", "INTERNAL_", "WEBHOOK_",
    "HTTP_", "LOG_LEVEL", "TASK_", "BROADCAST_", "GRAPHQL_", "CORS_", "SUPERADMIN_", "SENTRY_",
)  # fmt: skip


def service_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any Dvorik setting, plus `settings` (NAME=value)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DVORIK_SETTINGS)}
    env.update(settings)
    return env


async def wait_until_serving(
    url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = START_UP_SECONDS
) -> None:
    """Poll `url` (e.g. /health) until it answers 200; fail early if the process died."""
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            if process.poll() is not None:
                raise AssertionError(f"exited with {process.returncode}:\n{tail(log)}")
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer within {seconds} s:\n{tail(log)}")
            await asyncio.sleep(0.1)


Watched = tuple[subprocess.Popen[bytes], Path]


async def wait_until(
    condition: Callable[[], Awaitable[bool]],
    what: str,
    *,
    seconds: float,
    watch: Sequence[Watched] = (),
    every: float = 0.05,
) -> None:
    """Poll `condition` until it holds; fail after `seconds`, or at once if a watched process exits.

    Every failure message ends with the watched processes' log tails: a test
    that waits on a process fails with what that process said.
    """
    deadline = time.monotonic() + seconds
    while not await condition():
        for process, log in watch:
            if process.poll() is not None:
                raise AssertionError(
                    f"exited with {process.returncode} before {what}:\n{tail(log)}"
                )
        if time.monotonic() > deadline:
            logs = "\n".join(tail(log) for _, log in watch)
            raise AssertionError(f"{what} did not happen within {seconds} s\n{logs}")
        await asyncio.sleep(every)
