"""The sizes a newcomer can hold in their head, checked on every run.

docs/architecture.md promises that no module in backend/ runs past 500 lines
and no function past 60: a module that grows past that has grown a second
concept, and a function past that has grown steps that want names. No file
in tests/ runs past 500 lines either: one that does holds a second scenario. The
import rules beside these (layers, no cycles) are import-linter's contracts in
pyproject.toml, run by `make lint`.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.processes import ROOT

BACKEND = ROOT / "backend"
TESTS = ROOT / "tests"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def modules() -> list[Path]:
    return sorted(path for path in BACKEND.rglob("*.py") if "static" not in path.parts)


def suite_modules() -> list[Path]:
    """Every Python file of the test suite: tests, conftest.py files and helper modules."""
    return sorted(TESTS.rglob("*.py"))


def long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > MAX_FUNCTION_LINES:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_every_backend_module_fits_in_a_sitting() -> None:
    too_long = [
        f"{path.relative_to(ROOT)} ({count} lines)"
        for path in modules()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert too_long == [], f"split these along their seams (max {MAX_MODULE_LINES} lines)"


def test_every_backend_function_fits_on_a_screen() -> None:
    too_long = [found for path in modules() for found in long_functions(path)]
    assert too_long == [], f"give these steps names (max {MAX_FUNCTION_LINES} lines)"


def test_the_checks_see_the_whole_backend() -> None:
    """Guard against a glob that silently matches nothing."""
    assert len(modules()) > 100


def test_every_test_module_fits_in_a_sitting() -> None:
    """A newcomer finds a scenario by its file's name, and reads that file in one go."""
    found = suite_modules()
    too_long = [
        f"{path.relative_to(ROOT)} ({count} lines)"
        for path in found
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert len(found) > 100  # the glob sees the suite
    assert too_long == [], f"split these by scenario (max {MAX_MODULE_LINES} lines)"
