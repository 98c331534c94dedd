"""Configuration: every setting is documented, a bad one stops start-up with one line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backend.settings import ConfigurationError, Environment, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
GOOD_TOKEN = "123456789:" + "A" * 35


def documented_variables() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def test_env_example_documents_every_setting() -> None:
    assert documented_variables() == {name.upper() for name in Settings.model_fields}


def test_no_configuration_means_sqlite_in_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT / "tests")  # no .env here
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    settings = load_settings()
    assert settings.environment is Environment.DEVELOPMENT
    assert settings.is_sqlite
    assert settings.timezone == "Asia/Vladivostok"
    assert settings.secret("jwt_secret_key") == settings.secret("jwt_secret_key")


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE"),
        ("DATABASE_URL", "oracle://x", "DATABASE_URL"),
        ("JWT_SECRET_KEY", "short", "JWT_SECRET_KEY"),
        ("TELEGRAM_BOT_TOKEN", "not-a-token", "TELEGRAM_BOT_TOKEN"),
        ("HTTP_PORT", "eighty", "HTTP_PORT"),
        ("REDIS_URL", "http://localhost", "REDIS_URL"),
        ("TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/33", "TRUSTED_PROXIES"),
    ],
)
def test_invalid_setting_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(named)
    assert "\n" not in message


def test_production_refuses_to_start_without_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("DATABASE_URL", "mysql://dvorik:pw@db/dvorik")
    with pytest.raises(ConfigurationError, match="REDIS_URL is required"):
        load_settings()


def test_mysql_urls_are_normalised_to_asyncmy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://dvorik:pw@db:3306/dvorik")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", GOOD_TOKEN)
    settings = load_settings()
    assert settings.database_url == "mysql+asyncmy://dvorik:pw@db:3306/dvorik"
    assert not settings.is_sqlite
