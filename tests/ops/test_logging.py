"""Logs an operator can search: one JSON object a line, a request id, no personal data."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain.clock import utcnow
from backend.domain.database import create_sessionmaker
from backend.graphql import tokens
from backend.observability.logging import REDACTED, configure_logging, scrub
from backend.settings import Environment, LogFormat, Settings
from tests.api import JWT_SECRET, serve, settings_for
from tests.databases import fresh_database, run_alembic
from tests.factories import make_admin

PHONE = "+7 999 123-45-67"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Tests that configure logging onto a private stream put the process back afterwards."""
    root = logging.getLogger()
    level = root.level
    yield
    root.setLevel(level)
    for handler in [h for h in root.handlers if h.get_name() == "dvorik"]:
        root.removeHandler(handler)


def json_settings(**overrides: Any) -> Settings:
    return Settings(_env_file=None, log_format=LogFormat.JSON, **overrides)


async def test_every_request_gets_an_id_echoed_in_the_header_and_on_its_log_line(
    engine: AsyncEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    async with (
        serve(settings_for(engine, log_format="json")) as server,
        httpx.AsyncClient(base_url=server.url) as http,
    ):
        capsys.readouterr()
        given = await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"X-Request-ID": "trace-7.a"}
        )
        fresh = await http.post("/graphql", json={"query": "{ __typename }"})
        forged = await http.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"X-Request-ID": 'x" level=error fake="1'},
        )
        lines = json_lines(capsys.readouterr().err)

    assert given.headers["X-Request-ID"] == "trace-7.a"
    assert re.fullmatch(r"[0-9a-f]{32}", fresh.headers["X-Request-ID"])
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["X-Request-ID"])  # not echoed
    requests = [line for line in lines if line.get("logger") == "dvorik.http"]
    assert [line["request_id"] for line in requests] == [
        given.headers["X-Request-ID"],
        fresh.headers["X-Request-ID"],
        forged.headers["X-Request-ID"],
    ]
    first = requests[0]
    assert first["level"] == "info" and first["method"] == "POST" and first["status"] == 200
    assert first["route"] == "/graphql" and first["duration_ms"] >= 0
    assert first["timestamp"].endswith("Z")


async def test_a_masked_internal_error_quotes_the_request_id_that_finds_its_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real fault (a table gone from under the app), not a mock: the id ties it all up."""
    engine = await fresh_database("sqlite", tmp_path, "broken")
    await run_alembic(engine, "upgrade", "head")
    sessions: async_sessionmaker[AsyncSession] = create_sessionmaker(engine)
    async with sessions() as session, session.begin():
        admin = await make_admin(session, email="owner@dvorik.test")
    token = tokens.issue(admin, secret=JWT_SECRET, now=utcnow()).token
    try:
        async with (
            serve(settings_for(engine, log_format="json")) as server,
            httpx.AsyncClient(base_url=server.url) as http,
        ):
            async with engine.begin() as connection:
                await connection.execute(text("DROP TABLE customer_tags"))
                await connection.execute(text("DROP TABLE customers"))
            capsys.readouterr()
            response = await http.post(
                "/graphql",
                json={
                    "query": "query($s: String) { customers(filter: {search: $s}) { totalCount } }",
                    "variables": {"s": PHONE},
                },
                headers={"Authorization": f"Bearer {token}"},
            )
            output = capsys.readouterr().err
    finally:
        await engine.dispose()

    error = response.json()["errors"][0]
    request_id = response.headers["X-Request-ID"]
    assert error["extensions"] == {"code": "INTERNAL", "requestId": request_id}
    assert request_id in error["message"] and "customers" not in error["message"]
    [logged] = [line for line in json_lines(output) if line["level"] == "error"]
    assert logged["request_id"] == request_id
    assert "OperationalError" in logged["exception"]  # the traceback is there, under the id
    assert "no such table" in logged["exception"]
    assert f"[parameters: {REDACTED}]" in logged["exception"]
    for personal in (PHONE, "999 123", "45-67", token):
        assert personal not in output, personal


def test_personal_fields_and_secrets_never_reach_the_output(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging(json_settings(), stream=out)
    log = logging.getLogger("dvorik.test")

    log.info(
        "customer %s shared phone %s and typed %s",
        42,
        PHONE,
        "ABCD2345",
        extra={
            "first_name": "Анна",
            "last_name": "Иванова",
            "username": "anna_sweet",
            "code": "HJKM7788",
            "customer_id": 42,
            "headers": {"Authorization": f"Bearer {JWT}", "Accept": "application/json"},
            "webhook_secret": "w" * 40,
        },
    )
    structlog.get_logger("dvorik.test").warning(
        "login link sent", token=JWT, email="owner@dvorik.test", telegram_id=123456789
    )
    try:
        raise RuntimeError(f"bot {BOT_TOKEN} refused chat 5551234567")
    except RuntimeError:
        log.exception("send failed")

    first, second, third = json_lines(out.getvalue())
    assert first["event"] == f"customer 42 shared phone {REDACTED} and typed {REDACTED}"
    for field in ("first_name", "last_name", "username", "code", "webhook_secret"):
        assert first[field] == REDACTED, field
    assert first["customer_id"] == 42  # ids point at people without being personal data
    assert first["headers"] == {"Authorization": REDACTED, "Accept": "application/json"}
    assert second["event"] == "login link sent" and second["level"] == "warning"
    assert second["token"] == second["email"] == second["telegram_id"] == REDACTED
    assert third["level"] == "error" and "RuntimeError" in third["exception"]
    everything = out.getvalue()
    for personal in ("Анна", "anna_sweet", "ABCD2345", "HJKM7788", JWT, BOT_TOKEN, "5551234567"):
        assert personal not in everything, personal
    assert "999" not in everything


def test_scrubbing_keeps_what_operators_need() -> None:
    kept = "broadcast 7: 1200 sent in 3.5 s, task 1732579200123-0 of job 4f1c2a9e at 2025-03-03"
    assert scrub(kept) == kept
    assert scrub("QUERY_TOO_COMPLEX for owner") == "QUERY_TOO_COMPLEX for owner"
    assert scrub("phone 79991234567, code abcd-2345") == f"phone {REDACTED}, code abcd-2345"
    url = f"POST https://api.telegram.org/bot{BOT_TOKEN}/setWebhook"
    assert scrub(url) == f"POST https://api.telegram.org/bot{REDACTED}/setWebhook"


def test_console_format_and_one_handler_however_often_configured(
    restore_logging: None, tmp_path: Path
) -> None:
    env = tmp_path / ".env"
    env.write_text("LOG_FORMAT=\nLOG_LEVEL=warning\n")  # copied from .env.example, left empty
    settings = Settings(_env_file=env)
    assert settings.log_format is None and settings.logs_as is LogFormat.CONSOLE
    production = settings.model_copy(update={"environment": Environment.PRODUCTION})
    assert production.logs_as is LogFormat.JSON

    out = io.StringIO()
    configure_logging(settings, stream=out)
    configure_logging(settings, stream=out)
    logging.getLogger("dvorik.test").info("below the level")
    logging.getLogger("dvorik.test").warning("customer %s: %s", 42, PHONE)

    assert len([h for h in logging.getLogger().handlers if h.get_name() == "dvorik"]) == 1
    [line] = out.getvalue().splitlines()
    assert "customer 42" in line and "[warning" in line and "dvorik.test" in line
    assert "999" not in line and not line.startswith("{")
