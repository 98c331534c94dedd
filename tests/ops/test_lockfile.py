"""Installs are reproducible: uv.lock pins everything, and the environment is the lock."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.lockfile import differences
from tests.processes import ROOT

PYTHON = Path(sys.executable)
UV = PYTHON.parent / "uv"


def uv(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(UV), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_this_environment_holds_exactly_the_locked_versions() -> None:
    assert differences(PYTHON) == []


def test_pyproject_and_the_lock_agree() -> None:
    check = uv("lock", "--check")
    assert check.returncode == 0, check.stderr


def test_a_dependency_added_without_relocking_stops_make_install(tmp_path: Path) -> None:
    """The edit a developer forgets to lock fails `make test` before anything installs."""
    for name in ("Makefile", "pyproject.toml", "uv.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts")
    pyproject = tmp_path / "pyproject.toml"
    text = pyproject.read_text()
    # idna is already locked (through httpx): the lock resolves, and only its check objects.
    # uv asks the index for what its cache lacks, as `make install` does.
    added = text.replace("dependencies = [\n", 'dependencies = [\n    "idna>=3",\n', 1)
    pyproject.write_text(added)
    assert pyproject.read_text() != text

    check = uv("lock", "--check", cwd=tmp_path)
    assert check.returncode != 0
    assert "needs to be updated" in check.stderr

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", tmp_path / ".venv"], check=True)
    (tmp_path / ".venv" / "bin" / "uv").symlink_to(UV)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV", "MAKE"))}
    make = subprocess.run(
        ["make", "-o", ".venv/bin/uv", "install"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert make.returncode != 0
    assert "uv.lock` needs to be updated" in make.stderr
    assert not (tmp_path / ".venv" / ".installed-stamp").exists()
    assert list((tmp_path / ".venv" / "lib").glob("python*/site-packages/fastapi*")) == []
