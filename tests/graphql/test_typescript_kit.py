"""The SPA's generated TypeScript: committed, fresh, complete and really typed.

frontend-contract/generated/ is what graphql-codegen (client preset) makes
from schema.graphql and the contract's operations. A schema or operation change
without `npm run codegen` leaves it stale, and the front-end team would build
against types that lie; so the suite generates it again and compares.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.frontend_kit import KIT, run, tool

pytestmark = pytest.mark.slow
GENERATED = KIT / "generated"


def files_under(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): path.read_text()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_the_committed_types_are_what_codegen_makes_today(tmp_path: Path) -> None:
    codegen = tool("graphql-codegen")
    fresh = tmp_path / "generated"
    made = run(
        [str(codegen), "--config", "codegen.ts"], env=os.environ | {"CODEGEN_OUT": f"{fresh}/"}
    )
    assert made.returncode == 0, made.stdout + made.stderr
    committed, regenerated = files_under(GENERATED), files_under(fresh)
    stale = sorted(
        name
        for name in committed.keys() | regenerated.keys()
        if committed.get(name) != regenerated.get(name)
    )
    assert not stale, (
        f"frontend-contract/generated/ is stale ({', '.join(stale)}): "
        "run `cd frontend-contract && npm run codegen` and commit the result"
    )


def test_every_operation_in_the_contract_has_a_typed_document() -> None:
    operations = {path.stem for path in KIT.glob("*/*.graphql") if "node_modules" not in path.parts}
    generated = (GENERATED / "graphql.ts").read_text()
    documents = set(re.findall(r"^export const (\w+)Document = ", generated, flags=re.MULTILINE))
    assert len(operations) > 50
    assert operations == documents


def test_the_types_and_the_example_pass_the_type_checker() -> None:
    checked = run([str(tool("tsc")), "--noEmit", "-p", "tsconfig.json"])
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_variable_of_the_wrong_type_does_not_compile(tmp_path: Path) -> None:
    """The documents carry their types: `first: "20"` for an Int is caught before run time."""
    wrong = tmp_path / "wrong.ts"
    wrong.write_text(
        f'import {{ request }} from "{KIT}/example/api";\n'
        f'import {{ CustomerListDocument }} from "{KIT}/generated/graphql";\n'
        'const api = { url: "http://127.0.0.1:8000/graphql", token: null };\n'
        'export const page = request(api, CustomerListDocument, { first: "20" });\n'
        "export const rows = page.then((data) => data.customers.edges[0]?.node.nickname);\n"
    )
    config = tmp_path / "tsconfig.json"
    config.write_text(json.dumps({"extends": str(KIT / "tsconfig.json"), "include": [str(wrong)]}))
    checked = run([str(tool("tsc")), "--noEmit", "-p", str(config)])
    errors = checked.stdout + checked.stderr
    assert checked.returncode != 0
    assert "wrong.ts(4," in errors and "not assignable to type 'number'" in errors, errors
    assert "wrong.ts(5," in errors and "nickname" in errors, errors
