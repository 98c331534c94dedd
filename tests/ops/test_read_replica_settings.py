"""DATABASE_READ_URL: a replica of the primary's kind, never SQLite; refused with one line."""

from __future__ import annotations

import pytest

from backend.settings import Settings


@pytest.mark.parametrize(
    ("read_url", "refusal"),
    [
        ("sqlite+aiosqlite:///./replica.db", "SQLite has no read replicas"),
        ("redis://replica:6379/0", "must start with"),
    ],
)
def test_a_replica_url_that_cannot_be_a_replica_is_refused(read_url: str, refusal: str) -> None:
    with pytest.raises(ValueError, match=refusal):
        Settings(_env_file=None, database_url="mysql://root@db/dvorik", database_read_url=read_url)


def test_a_replica_must_be_of_the_primarys_kind() -> None:
    with pytest.raises(ValueError, match="DATABASE_READ_URL must be"):
        Settings(_env_file=None, database_read_url="mariadb://root@replica/dvorik")
    settings = Settings(
        _env_file=None,
        database_url="mysql://root@db/dvorik",
        database_read_url="mariadb://root@replica/dvorik",
    )
    assert settings.database_read_url == "mysql+asyncmy://root@replica/dvorik"
