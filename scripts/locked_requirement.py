"""Print one package of uv.lock as a hash-pinned pip requirement.

`make` and the Dockerfile install uv itself with pip before uv can read the
lock; this keeps that first install as exact as the rest (`pip install
--require-hashes`) without a second list of versions to keep in step.
Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

LOCK = Path(__file__).resolve().parent.parent / "uv.lock"


def requirement(name: str, lock: Path = LOCK) -> str:
    """`name==version --hash=…` over every wheel and sdist the lock records."""
    packages = tomllib.loads(lock.read_text())["package"]
    matches = [package for package in packages if package["name"] == name]
    if len(matches) != 1:
        raise SystemExit(f"{lock.name}: expected one locked {name!r}, found {len(matches)}")
    package = matches[0]
    files = [*package.get("wheels", []), *([package["sdist"]] if "sdist" in package else [])]
    hashes = " ".join(f"--hash={file['hash']}" for file in files)
    return f"{name}=={package['version']} {hashes}"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: locked_requirement.py PACKAGE")
    print(requirement(sys.argv[1]))
