"""compose.yaml's `postgresql` profile and its override run the shop on PostgreSQL instead of MySQL.

No Docker engine runs here: the files are read as compose would merge them
(`!override` replaces a key's value) and checked against the code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from backend.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
OVERRIDE = ROOT / "deploy/compose.postgresql.yaml"
APP_SERVICES = ("api", "worker", "scheduler")


class _ComposeLoader(yaml.SafeLoader):
    """Compose's YAML: `!override` and `!reset` tag a value, which stays what it is."""


def _tagged(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_ComposeLoader.add_constructor("!override", _tagged)
_ComposeLoader.add_constructor("!reset", _tagged)


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(path.read_text(), Loader=_ComposeLoader)  # noqa: S506
    return data


def merged() -> dict[str, Any]:
    """compose.yaml with the override on top (environment merged, depends_on replaced)."""
    base, override = load(ROOT / "compose.yaml")["services"], load(OVERRIDE)["services"]
    for name, changes in override.items():
        service = base[name]
        service["environment"] = {
            **service.get("environment", {}),
            **changes.get("environment", {}),
        }
        for key in ("depends_on", "profiles"):
            if key in changes:
                service[key] = changes[key]
    merged_services: dict[str, Any] = base
    return merged_services


def started(services: dict[str, Any], profiles: set[str]) -> set[str]:
    return {name for name, s in services.items() if set(s.get("profiles", [])) <= profiles}


def test_the_postgresql_service_starts_only_with_its_profile() -> None:
    services = load(ROOT / "compose.yaml")["services"]
    postgresql = services["postgresql"]
    assert postgresql["profiles"] == ["postgresql"]
    assert postgresql["image"] == "postgres:15"
    assert "healthcheck" in postgresql
    assert "--locale=C.UTF-8" in postgresql["environment"]["POSTGRES_INITDB_ARGS"]
    assert "postgresql" not in started(services, set())  # `docker compose up` as before


def test_the_override_runs_the_shop_on_postgresql_without_mysql() -> None:
    services = merged()
    assert started(services, {"postgresql"}) == {*APP_SERVICES, "postgresql", "redis"}
    for name in APP_SERVICES:
        service = services[name]
        url = service["environment"]["DATABASE_URL"]
        assert url.startswith("postgresql+asyncpg://dvorik:") and "@postgresql:5432/dvorik" in url
        settings_url = Settings(database_url=url.replace("${", "").replace("}", "")).database_url
        assert settings_url.startswith("postgresql+asyncpg://")
        assert service["depends_on"]["postgresql"] == {"condition": "service_healthy"}
        assert "mysql" not in service["depends_on"]
        assert service["environment"]["ENVIRONMENT"] == "production"


def test_the_override_sets_only_variables_that_settings_reads() -> None:
    known = {name.upper() for name in Settings.model_fields}
    for name, service in load(OVERRIDE)["services"].items():
        assert set(service.get("environment", {})) <= known, name
