"""The front-end developer's kit in frontend-contract/: its npm tools, run as a developer would.

`make test` installs the kit from its lock (`npm ci`, stamp in node_modules);
a test that needs a tool and finds none fails under CI=true and is skipped
on a developer's machine without the kit, as with chromium (tests/node_kits.py).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.node_kits import FRONTEND_CONTRACT, ROOT

__all__ = ["KIT", "ROOT", "build_example", "run", "tool"]

KIT = FRONTEND_CONTRACT.folder


def tool(name: str) -> Path:
    """An installed executable of the kit (node_modules/.bin)."""
    return FRONTEND_CONTRACT.tool(name)


def run(command: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A kit command in frontend-contract/, output captured (checked by the caller)."""
    return FRONTEND_CONTRACT.run(command, env)


def build_example(outdir: Path) -> Path:
    """The example page built with esbuild into `outdir` (index.html, main.js, style.css)."""
    tool("esbuild")
    built = run(["node", "example/build.mjs", "--outdir", str(outdir)])
    assert built.returncode == 0, built.stdout + built.stderr
    return outdir
