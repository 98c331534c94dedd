"""Retentions are settings; one that would break a guarantee stops start-up with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.settings import ConfigurationError, load_settings
from tests.processes import dvorik, environment


def test_the_retentions_have_documented_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).parent)  # no .env here
    for name in (
        "TELEGRAM_UPDATES_KEEP_HOURS",
        "BULK_JOBS_KEEP_DAYS",
        "TASK_STREAM_KEEP_HOURS",
        "BOT_CONVERSATION_KEEP_HOURS",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.telegram_updates_keep_hours == 48
    assert settings.bulk_jobs_keep_days == 30
    assert settings.task_stream_keep_hours == 24
    assert settings.bot_conversation_keep_hours == 168


@pytest.mark.parametrize("hours", ["24", "1", "0", "-5"])
def test_update_ids_must_outlive_telegram_s_redelivery_window(
    monkeypatch: pytest.MonkeyPatch, hours: str
) -> None:
    """Telegram re-sends an update for up to 24 hours: an id forgotten sooner is handled twice."""
    monkeypatch.setenv("TELEGRAM_UPDATES_KEEP_HOURS", hours)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("TELEGRAM_UPDATES_KEEP_HOURS: must be more than 24 (hours)")
    assert "handled twice" in message
    assert "\n" not in message


def test_a_day_and_an_hour_is_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_UPDATES_KEEP_HOURS", "25")
    assert load_settings().telegram_updates_keep_hours == 25


@pytest.mark.parametrize(
    ("variable", "value"),
    [("BULK_JOBS_KEEP_DAYS", "0"), ("TASK_STREAM_KEEP_HOURS", "-1")],
)
def test_other_retentions_refuse_nonsense(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert str(caught.value).startswith(variable)


def test_the_command_refuses_a_too_short_update_retention_in_one_line(tmp_path: Path) -> None:
    env = environment(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", TELEGRAM_UPDATES_KEEP_HOURS="12"
    )
    result = dvorik("migrate", env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: configuration: TELEGRAM_UPDATES_KEEP_HOURS: must be more than 24 (hours): "
        "Telegram re-sends an update for up to a day, and one whose id was forgotten would "
        "be handled twice"
    )
