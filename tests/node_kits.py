"""The npm folders (frontend-contract/, mini-apps/): their tools, run as a developer would.

Each folder has its own package.json and lock; `make test` installs it (`npm ci`
under a Makefile target, stamp in node_modules). A test that needs a tool and
finds none fails under CI=true and is skipped on a developer's machine without
the kit, as with chromium.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.databases import in_ci

ROOT = Path(__file__).resolve().parents[1]
NODE_SECONDS = 120  # npm tools start in well under a second; codegen takes about 2 s


@dataclass(frozen=True)
class NodeKit:
    folder: Path
    make_target: str  # what installs it: `make <make_target>`

    def tool(self, name: str) -> Path:
        """An installed executable of the kit (node_modules/.bin)."""
        path = self.folder / "node_modules" / ".bin" / name
        if not path.exists():
            message = (
                f"{name} is not installed in {self.folder.name}: run `make {self.make_target}`"
            )
            if in_ci():
                pytest.fail(message + " (CI=true: the kit's tests must run)", pytrace=False)
            pytest.skip(message)
        return path

    def run(
        self, command: list[str], env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """A kit command in the kit's folder, output captured (checked by the caller)."""
        return subprocess.run(
            command,
            cwd=self.folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=NODE_SECONDS,
            check=False,
        )


FRONTEND_CONTRACT = NodeKit(ROOT / "frontend-contract", "frontend-kit")
MINI_APPS = NodeKit(ROOT / "mini-apps", "mini-apps-kit")
