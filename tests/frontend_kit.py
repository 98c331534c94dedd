"""The front-end developer's kit in frontend-contract/: its npm tools, run as a developer would.

`make test` installs the kit from its lock (`npm ci`, stamp in node_modules);
a test that needs a tool and finds none fails under CI=true and is skipped
on a developer's machine without the kit, as with chromium.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.databases import in_ci

ROOT = Path(__file__).resolve().parents[1]
KIT = ROOT / "frontend-contract"
NODE_SECONDS = 120  # npm tools start in well under a second; codegen takes about 2 s


def tool(name: str) -> Path:
    """An installed executable of the kit (node_modules/.bin)."""
    path = KIT / "node_modules" / ".bin" / name
    if not path.exists():
        message = f"{name} is not installed in frontend-contract: run `make frontend-kit`"
        if in_ci():
            pytest.fail(message + " (CI=true: the kit's tests must run)", pytrace=False)
        pytest.skip(message)
    return path


def run(command: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A kit command in frontend-contract/, output captured (checked by the caller)."""
    return subprocess.run(
        command, cwd=KIT, env=env, capture_output=True, text=True, timeout=NODE_SECONDS, check=False
    )


def build_example(outdir: Path) -> Path:
    """The example page built with esbuild into `outdir` (index.html, main.js, style.css)."""
    tool("esbuild")
    built = run(["node", "example/build.mjs", "--outdir", str(outdir)])
    assert built.returncode == 0, built.stdout + built.stderr
    return outdir
