"""The Mini Apps' committed bundles are what their TypeScript builds today, and it type-checks.

`dvorik serve` serves backend/mini_apps/static/ as committed (so `make run`
needs no Node.js); the sources live in mini-apps/src/. An edit to the sources
without `npm run build` would ship yesterday's page, so the suite builds them
again and compares, file by file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.node_kits import MINI_APPS, ROOT

pytestmark = pytest.mark.slow
STATIC = ROOT / "backend" / "mini_apps" / "static"


def files_in(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


def test_the_committed_bundles_are_what_the_sources_build_today(tmp_path: Path) -> None:
    MINI_APPS.tool("esbuild")
    built = MINI_APPS.run(["node", "build.mjs", "--outdir", str(tmp_path)])
    assert built.returncode == 0, built.stdout + built.stderr
    committed, fresh = files_in(STATIC), files_in(tmp_path)
    assert set(fresh) == {"card.html", "card.js", "till.html", "till.js", "mini-app.css"}
    stale = sorted(
        name for name in committed.keys() | fresh.keys() if committed.get(name) != fresh.get(name)
    )
    assert not stale, (
        f"backend/mini_apps/static/ is stale ({', '.join(stale)}): "
        "run `cd mini-apps && npm run build` and commit the result"
    )


def test_the_sources_pass_the_type_checker() -> None:
    checked = MINI_APPS.run([str(MINI_APPS.tool("tsc")), "--noEmit", "-p", "tsconfig.json"])
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_tools_are_pinned_exactly_and_locked() -> None:
    package = json.loads((MINI_APPS.folder / "package.json").read_text())
    lock = json.loads((MINI_APPS.folder / "package-lock.json").read_text())
    for name, version in package["devDependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name}: {version} is a range"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


def test_each_page_loads_only_its_own_committed_files() -> None:
    """Telegram's script is loaded by the bundle, which goes on without it when it fails."""
    for app in ("card", "till"):
        html = (STATIC / f"{app}.html").read_text()
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sorted(sources) == sorted([f"/app/static/{app}.js", "/app/static/mini-app.css"])
        assert "https://telegram.org/js/telegram-web-app.js" in (STATIC / f"{app}.js").read_text()
