"""DATABASE_URL names PostgreSQL as it names MySQL: plain schemes normalised, production on it."""

from __future__ import annotations

import pytest

from backend.settings import ConfigurationError, load_settings

GOOD_TOKEN = "123456789:" + "A" * 35
PRODUCTION = {
    "ENVIRONMENT": "production",
    "REDIS_URL": "redis://redis:6379/0",
    "TELEGRAM_BOT_TOKEN": GOOD_TOKEN,
    "TELEGRAM_AUTH_BOT_TOKEN": "987654321:" + "B" * 35,
    "JWT_SECRET_KEY": "j" * 32,
    "INTERNAL_API_KEY": "i" * 32,
    "WEBHOOK_BASE_URL": "https://dvorik.example",
    "WEBHOOK_SECRET": "w" * 32,
}


@pytest.mark.parametrize(
    "given",
    [
        "postgresql://dvorik:pw@db:5432/dvorik",
        "postgres://dvorik:pw@db:5432/dvorik",
        "postgresql+asyncpg://dvorik:pw@db:5432/dvorik",
    ],
)
def test_postgresql_urls_are_normalised_to_asyncpg(
    monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    settings = load_settings()
    assert settings.database_url == "postgresql+asyncpg://dvorik:pw@db:5432/dvorik"
    assert not settings.is_sqlite


@pytest.mark.parametrize(
    "url", ["postgresql://dvorik:pw@db:5432/dvorik", "mysql://dvorik:pw@db:3306/dvorik"]
)
def test_production_runs_on_postgresql_or_mysql(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    for name, value in {**PRODUCTION, "DATABASE_URL": url}.items():
        monkeypatch.setenv(name, value)
    assert load_settings().database_url.split("+")[0] in ("postgresql", "mysql")


def test_production_refuses_sqlite_naming_both_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**PRODUCTION, "DATABASE_URL": "sqlite+aiosqlite:///x.db"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match="MySQL/MariaDB or PostgreSQL"):
        load_settings()
