"""The native layout's systemd units (deploy/systemd) are valid and start real commands.

`systemd-analyze verify` reads each unit as systemd would (unknown keys, a
missing executable, a bad section), with the paths pointed at this checkout;
each `dvorik` command line in them must parse (`--help` after it fails on an
unknown option); a worker's stop timeout leaves room for its own grace.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from backend.workers.worker import SHUTDOWN_GRACE_SECONDS
from tests.databases import in_ci
from tests.processes import ROOT, dvorik, environment

UNITS = ROOT / "deploy" / "systemd"
INSTALLED_VENV = "/opt/dvorik/.venv/bin/dvorik"


def unit_files() -> list[Path]:
    return sorted(UNITS.glob("*.service")) + sorted(UNITS.glob("*.target"))


def setting(unit: Path, key: str) -> list[str]:
    return re.findall(rf"^{key}=(.*)$", unit.read_text(), flags=re.MULTILINE)


def render_here(unit: Path, into: Path) -> Path:
    """The unit as an operator installs it, but pointing at this checkout."""
    text = (
        unit.read_text()
        .replace(INSTALLED_VENV, str(ROOT / ".venv" / "bin" / "dvorik"))
        .replace("/opt/dvorik", str(ROOT))
        .replace("/etc/dvorik/dvorik.env", "/dev/null")
        .replace("User=dvorik", "User=root")
        .replace("Group=dvorik", "Group=root")
    )
    name = unit.name.replace("@.service", "@1.service")  # an instance, as enabled
    rendered = into / name
    rendered.write_text(text)
    return rendered


def test_the_native_layout_has_an_api_workers_a_scheduler_and_a_target() -> None:
    names = {unit.name for unit in unit_files()}
    assert names == {
        "dvorik-api.service",
        "dvorik-worker@.service",
        "dvorik-scheduler.service",
        "dvorik.target",
    }


def test_systemd_accepts_every_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        message = "systemd-analyze is not installed"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    rendered = [render_here(unit, tmp_path) for unit in unit_files()]
    result = subprocess.run(
        [analyze, "verify", "--man=no", *map(str, rendered)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr.strip()) == (0, "")


@pytest.mark.parametrize("unit", [u for u in unit_files() if u.suffix == ".service"], ids=str)
def test_each_dvorik_command_in_a_unit_parses(unit: Path) -> None:
    lines = setting(unit, "ExecStartPre") + setting(unit, "ExecStart")
    assert lines, f"{unit.name} starts nothing"
    for line in lines:
        program, *arguments = shlex.split(line)
        assert program == INSTALLED_VENV
        result = dvorik(*arguments, "--help", env=environment())
        assert result.returncode == 0, f"{unit.name}: {line}: {result.stderr}"


def test_systemd_waits_for_a_stopping_worker_longer_than_its_grace() -> None:
    (timeout,) = setting(UNITS / "dvorik-worker@.service", "TimeoutStopSec")
    assert int(timeout) > SHUTDOWN_GRACE_SECONDS
    assert setting(UNITS / "dvorik-worker@.service", "KillSignal") == ["SIGTERM"]
