"""A newcomer tries both bots in the terminal, with no Telegram tokens at all."""

from __future__ import annotations

from pathlib import Path

from tests.processes import dvorik, environment


def test_customer_chat_in_the_terminal(tmp_path: Path) -> None:
    env = environment(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'try.db'}")
    result = dvorik("try", "customer", env=env, stdin="/start\n/discounts\nпривет\n/quit\n")
    assert result.returncode == 0, result.stderr
    assert "Здравствуйте, Гость!" in result.stdout
    assert "[картинка: QR-код]" in result.stdout
    assert "не понял" in result.stdout


def test_cashier_chat_in_the_terminal(tmp_path: Path) -> None:
    env = environment(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'try.db'}")
    result = dvorik("try", "cashier", env=env, stdin="ABCD2345\n/today\n")
    assert result.returncode == 0, result.stderr
    assert "Добро пожаловать, Кассир из терминала" in result.stdout
    assert "не найден" in result.stdout
    assert "Сегодня погашено: 0" in result.stdout
