"""Alembic wiring shared by the CLI and the tests (the scripts live in migrations/)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    return config


class QuietAlembicVersionKey(logging.Filter):
    """Drops MariaDB's note on Alembic's version table, which `dvorik migrate` would print.

    Alembic names the table's primary key `alembic_version_pkc`; MySQL and
    MariaDB ignore names of primary keys and say so in a note, which asyncmy
    logs as a warning on every fresh database. The note is harmless and the
    only one; every other warning of the driver still shows.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "'alembic_version_pkc' ignored for PRIMARY key" not in record.getMessage()


def quiet_driver_notes() -> None:
    """Install `QuietAlembicVersionKey` on asyncmy's logger once (migrations/env.py)."""
    driver = logging.getLogger("asyncmy")
    if not any(isinstance(known, QuietAlembicVersionKey) for known in driver.filters):
        driver.addFilter(QuietAlembicVersionKey())
