"""The test suite's wall time, per file: `python -m bench.suite_times [--run | REPORT.xml]`.

The suite's time is a product figure (how long a developer waits for
`make test`, and what CI spends of its budget). `--run` runs the whole suite
once as `make test` does (TEST_WORKERS pytest-xdist processes, 2 by default,
whole files each) with a JUnit report and prints the wall time beside the
10-minute target; given a report from an earlier run, it only prints the
table. A file's time is the sum of its tests' setup, call and teardown (session
fixtures count where they are first set up); the files run side by side, so
their sum is about the wall time times the number of workers.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

TARGET_SECONDS = 600.0


def per_file(report: Path) -> dict[str, tuple[int, int, float]]:
    """{file: (tests, failed, seconds)} from a pytest JUnit XML report."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for case in ET.parse(report).iter("testcase"):  # noqa: S314 (our own report)
        name = case.get("classname", "").split(".")
        path = "/".join(name[: -1 if name[-1][:1].isupper() else None]) + ".py"
        row = totals[path]
        row[0] += 1
        row[1] += case.find("failure") is not None or case.find("error") is not None
        row[2] += float(case.get("time", 0))
    return {path: (int(t), int(f), s) for path, (t, f, s) in totals.items()}


def table(rows: dict[str, tuple[int, int, float]]) -> str:
    lines = ["| file | tests | failed | seconds |", "|---|---:|---:|---:|"]
    for path, (tests, failed, seconds) in sorted(rows.items(), key=lambda item: -item[1][2]):
        lines.append(f"| `{path}` | {tests} | {failed} | {seconds:.1f} |")
    tests = sum(row[0] for row in rows.values())
    failed = sum(row[1] for row in rows.values())
    seconds = sum(row[2] for row in rows.values())
    lines.append(f"| **all {len(rows)} files** | {tests} | {failed} | {seconds:.1f} |")
    return "\n".join(lines)


def run_suite(report: Path, pytest_args: list[str]) -> tuple[int, float]:
    started = time.monotonic()
    workers = os.environ.get("TEST_WORKERS", "2")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", workers]
    command += ["--dist", "loadfile"]
    done = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [*command, f"--junitxml={report}", *pytest_args], env=os.environ.copy(), check=False
    )
    return done.returncode, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suite_times", description=__doc__)
    parser.add_argument("report", nargs="?", type=Path, help="a JUnit XML report to read")
    parser.add_argument("--run", action="store_true", help="run the whole suite first")
    args, pytest_args = parser.parse_known_args(argv)
    if args.run == (args.report is not None):
        parser.error("give either --run or a report")
    if args.report is not None:
        print(table(per_file(args.report)))
        return 0
    with tempfile.TemporaryDirectory() as directory:
        report = Path(directory) / "suite.xml"
        status, wall = run_suite(report, pytest_args)
        print(table(per_file(report)))
    verdict = "PASS" if wall * 1.2 <= TARGET_SECONDS else "FAIL"
    print(
        f"\nsuite wall time: {wall:.0f} s   target: ≤ {TARGET_SECONDS:.0f} s with 20% to spare"
        f"   {verdict}"
    )
    return status or (verdict == "FAIL")


if __name__ == "__main__":
    raise SystemExit(main())
