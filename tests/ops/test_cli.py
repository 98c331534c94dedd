"""The `dvorik` command as an operator uses it, on SQLite, MariaDB and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backend.domain import admins
from backend.domain.database import create_engine, create_sessionmaker
from backend.domain.errors import DomainError
from tests.conftest import DATABASES
from tests.databases import create_server_database, drop_server_database
from tests.processes import DVORIK, dvorik, environment, free_port, running, wait_for_http

CLI_SCHEMA = f"dvorik_cli_{os.getpid()}"


async def database_url(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    return await create_server_database(kind, CLI_SCHEMA)


@pytest.fixture(params=DATABASES)
async def migrated_env(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[dict[str, str]]:
    env = environment(DATABASE_URL=await database_url(request.param, tmp_path))
    result = dvorik("migrate", env=env)
    assert result.returncode == 0, result.stderr
    assert "Database is up to date" in result.stdout
    assert result.stderr == ""  # not even MariaDB's note on alembic_version_pkc
    yield env
    if request.param != "sqlite":
        await drop_server_database(request.param, CLI_SCHEMA)


def test_owner_creates_an_admin_with_the_password_on_stdin(migrated_env: dict[str, str]) -> None:
    result = dvorik(
        "admin",
        "create",
        "Olga@Dvorik.test",
        "--role",
        "marketing",
        env=migrated_env,
        stdin="a long enough password\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("Admin olga@dvorik.test (marketing) created")

    again = dvorik(
        "admin", "create", "olga@dvorik.test", env=migrated_env, stdin="a long enough password\n"
    )
    assert again.returncode == 1
    assert again.stderr.strip() == "Error: an admin with email olga@dvorik.test already exists"


def test_an_admin_is_created_with_a_long_cyrillic_passphrase(
    migrated_env: dict[str, str],
) -> None:
    passphrase = "мармеладный дворик лучший магазин сладостей владивостока"  # 104 bytes
    result = dvorik("admin", "create", "long@dvorik.test", env=migrated_env, stdin=passphrase)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.strip().startswith("Admin long@dvorik.test (owner) created")


def test_short_password_is_refused_in_one_line(migrated_env: dict[str, str]) -> None:
    result = dvorik("admin", "create", "a@dvorik.test", env=migrated_env, stdin="short\n")
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: password must be at least 10 characters"


async def password_works(env: dict[str, str], email: str, password: str) -> bool:
    engine = create_engine(env["DATABASE_URL"])
    try:
        async with create_sessionmaker(engine)() as session:
            await admins.authenticate(session, email, password)
        return True
    except DomainError:
        return False
    finally:
        await engine.dispose()


async def test_an_owner_who_forgot_the_password_gets_back_in_with_a_new_one(
    migrated_env: dict[str, str],
) -> None:
    created = dvorik(
        "admin", "create", "owner@dvorik.test", env=migrated_env, stdin="forgotten-1\n"
    )
    assert created.returncode == 0, created.stderr

    changed = dvorik(
        "admin", "set-password", "Owner@Dvorik.test", env=migrated_env, stdin="remembered-2\n"
    )
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.strip() == "Password of owner@dvorik.test changed; sign in with it now."
    assert await password_works(migrated_env, "owner@dvorik.test", "remembered-2")
    assert not await password_works(migrated_env, "owner@dvorik.test", "forgotten-1")

    nobody = dvorik(
        "admin", "set-password", "no@dvorik.test", env=migrated_env, stdin="whatever-3\n"
    )
    assert (nobody.returncode, nobody.stderr.strip()) == (
        1,
        "Error: no admin with email no@dvorik.test",
    )
    short = dvorik("admin", "set-password", "owner@dvorik.test", env=migrated_env, stdin="short\n")
    assert short.stderr.strip() == "Error: password must be at least 10 characters"
    assert await password_works(migrated_env, "owner@dvorik.test", "remembered-2")


def test_password_cannot_be_given_on_the_command_line(migrated_env: dict[str, str]) -> None:
    result = dvorik(
        "admin", "create", "a@dvorik.test", "--password", "secret-secret", env=migrated_env
    )
    assert result.returncode != 0
    assert "No such option" in result.stderr


def test_bad_setting_stops_the_command_with_one_line(tmp_path: Path) -> None:
    env = environment(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", TIMEZONE="Asia/Nowhere"
    )
    result = dvorik("migrate", env=env)
    assert result.returncode == 1
    assert (
        result.stderr.strip() == "Error: configuration: TIMEZONE: unknown time zone 'Asia/Nowhere'"
    )


def test_unreachable_database_is_one_line_not_a_traceback() -> None:
    env = environment(DATABASE_URL="mysql+asyncmy://root@127.0.0.1:1/none")
    result = dvorik("migrate", env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: database unavailable")
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["worker", "scheduler"])
def test_unreachable_redis_is_one_line_not_a_traceback(command: str, tmp_path: Path) -> None:
    env = environment(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",  # nobody listens there
    )
    result = dvorik(command, env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [errors[0]] and errors[0].startswith("Error: Redis unavailable: ")


def test_serve_reports_the_database_state_on_health(migrated_env: dict[str, str]) -> None:
    port = free_port()
    with running([*DVORIK, "serve", "--port", str(port)], migrated_env) as server:
        response = wait_for_http(f"http://127.0.0.1:{port}/health", server)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_health_says_degraded_when_the_database_is_down() -> None:
    port = free_port()
    env = environment(DATABASE_URL="mysql+asyncmy://root@127.0.0.1:1/none")
    with running([*DVORIK, "serve", "--port", str(port)], env) as server:
        response = wait_for_http(f"http://127.0.0.1:{port}/health", server)
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert response.json()["database"].startswith("unavailable")
