"""From a fresh clone, `make run` installs the lock, migrates, loads demo data and serves /health.

This is the newcomer's first command, so it is tested the way they run it:
a `git clone` of the committed tree, nothing borrowed from this checkout.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.lockfile import differences
from tests.processes import ROOT, environment, free_port, running, wait_for_http

pytestmark = pytest.mark.slow


def fresh_clone(target: Path) -> Path:
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True)
    return target


def test_make_run_from_a_fresh_clone_serves_health(tmp_path: Path) -> None:
    clone = fresh_clone(tmp_path / "dvorik")
    port = free_port()
    env = environment(HTTP_PORT=str(port))
    env.pop("VIRTUAL_ENV", None)
    with running(["make", "run"], env, cwd=clone) as make:
        response = wait_for_http(f"http://127.0.0.1:{port}/health", make, seconds=420)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert (clone / ".venv" / "bin" / "dvorik").exists()
    assert (clone / "dvorik.db").exists()
    assert differences(clone / ".venv" / "bin" / "python", clone) == []
