"""compose.yaml and the Dockerfile agree with the code (no Docker engine runs here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from typer.main import get_command

from backend.cli import app
from backend.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {name.upper() for name in Settings.model_fields}
# Variables that configure the images themselves, not Dvorik.
IMAGE_VARIABLES = {"MYSQL_DATABASE", "MYSQL_USER", "MYSQL_PASSWORD", "MYSQL_ROOT_PASSWORD"}


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return data


def cli_commands() -> set[str]:
    group = get_command(app)
    return set(group.commands)  # type: ignore[attr-defined]


def shop_services() -> dict[str, Any]:
    """What `docker compose up` starts: the services outside any profile.

    Prometheus and Grafana come with `--profile monitoring`; their images read
    their own variables (tests/ops/test_monitoring.py checks them).
    """
    return {name: s for name, s in compose()["services"].items() if "profiles" not in s}


def test_compose_runs_the_api_on_mysql_8_and_redis_7() -> None:
    services = shop_services()
    assert set(services) == {"api", "worker", "scheduler", "mysql", "redis"}
    assert services["mysql"]["image"] == "mysql:8"
    assert services["redis"]["image"] == "redis:7"
    api = services["api"]
    assert api["env_file"] == ".env"
    assert api["depends_on"] == {
        "mysql": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    for service in services.values():
        assert "healthcheck" in service


def test_compose_sets_only_variables_that_settings_reads() -> None:
    for name, service in shop_services().items():
        for variable in service.get("environment", {}):
            known = variable in SETTINGS or (name == "mysql" and variable in IMAGE_VARIABLES)
            assert known, f"{name} sets {variable}, which Settings does not read"


def test_compose_production_database_is_mysql() -> None:
    api = compose()["services"]["api"]["environment"]
    assert api["ENVIRONMENT"] == "production"
    assert api["DATABASE_URL"].startswith("mysql+asyncmy://")
    assert api["REDIS_URL"].startswith("redis://")


def test_compose_and_dockerfile_run_real_cli_commands() -> None:
    commands = cli_commands()
    services = compose()["services"]
    used: set[str] = set()
    for service in services.values():
        used |= set(re.findall(r"dvorik ([a-z-]+)", " ".join(service.get("command", []))))
    assert {"migrate", "serve", "worker", "scheduler"} <= used
    dockerfile = (ROOT / "Dockerfile").read_text()
    used |= set(re.findall(r'"dvorik", "([a-z-]+)"', dockerfile))
    assert used and used <= commands


def test_the_image_installs_the_locked_runtime_set_and_nothing_else() -> None:
    """The Dockerfile's installs all go through uv.lock: uv by hash, the app by `uv sync`."""
    logical_lines = (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    installs = [line for line in logical_lines if re.search(r"\b(pip|uv) (install|sync)\b", line)]
    assert installs, "the Dockerfile installs nothing"
    for line in installs:
        if "pip install" in line:
            assert "locked_requirement.py uv" in line and "--require-hashes" in line
        else:
            assert "uv sync --locked --no-dev" in line
    assert any("--no-editable" in line for line in installs)
