"""What uv.lock pins, and what a virtual environment actually holds.

Both sides are read through the environment's own interpreter, so a fresh
clone's `.venv` is judged exactly as this checkout's is.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

from tests.processes import ROOT

# `python -m venv` copies these from the interpreter's own ensurepip; nothing
# downloads them, and `uv sync` leaves them in place.
VENV_SEEDS = {"pip", "setuptools"}

_INSTALLED = """
import importlib.metadata, json, sysconfig
paths = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
found = importlib.metadata.distributions(path=paths)
print(json.dumps({d.metadata["Name"]: d.version for d in found}))
"""

_MARKERS = """
import json, sys
from packaging.markers import Marker
print(json.dumps([Marker(m).evaluate() if m else True for m in json.loads(sys.stdin.read())]))
"""


def normalize(name: str) -> str:
    """PEP 503 names: `PyYAML`, `pyyaml` and `py_yaml` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def project_version(root: Path = ROOT) -> str:
    return str(tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"])


def installed(python: Path) -> dict[str, str]:
    """Every distribution in the environment of `python`, by normalized name."""
    out = subprocess.run(
        [str(python), "-c", _INSTALLED], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return {normalize(name): version for name, version in json.loads(out).items()}


def locked(python: Path, root: Path = ROOT) -> dict[str, str]:
    """What `uv sync` installs from the lock for that interpreter (default groups, no project)."""
    uv = python.parent / "uv"
    export = subprocess.run(
        [str(uv), "export", "--frozen", "--no-hashes", "--no-emit-project", "--no-header"],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
        timeout=60,
    ).stdout
    pins: list[tuple[str, str, str]] = []
    for line in export.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        requirement, _, marker = line.partition(";")
        name, _, version = requirement.strip().partition("==")
        pins.append((normalize(name), version.strip(), marker.strip()))
    applies = json.loads(
        subprocess.run(
            [str(python), "-c", _MARKERS],
            input=json.dumps([marker for _, _, marker in pins]),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    )
    return {name: version for (name, version, _), yes in zip(pins, applies, strict=True) if yes}


def differences(python: Path, root: Path = ROOT) -> list[str]:
    """Each way the environment of `python` departs from the lock, as a readable line."""
    want = locked(python, root) | {"dvorik": project_version(root)}
    have = {name: v for name, v in installed(python).items() if name not in VENV_SEEDS}
    lines = [f"missing {name}=={want[name]}" for name in sorted(want.keys() - have.keys())]
    extra = sorted(have.keys() - want.keys())
    lines += [f"not in the lock: {name}=={have[name]}" for name in extra]
    lines += [
        f"{name}: installed {have[name]}, locked {want[name]}"
        for name in sorted(want.keys() & have.keys())
        if have[name] != want[name]
    ]
    return lines
