"""Where the admin SPA's contract lives: its operations, the schema as released, the changelog.

frontend-contract/ holds the operations the SPA uses, one per file, and beside them
schema.released.graphql, the schema as last announced to the SPA team. That file is
no operation, so every test that walks the folder's documents takes them from
contract_documents(), which leaves it out.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "frontend-contract"
CURRENT_SCHEMA = ROOT / "schema.graphql"
RELEASED_SCHEMA = CONTRACT / "schema.released.graphql"
CHANGELOG = ROOT / "CHANGELOG.md"


def contract_documents() -> list[Path]:
    """Every operation of the contract, in a stable order: one folder deep, as codegen.ts
    reads them (the released schema sits above them, node_modules' files deeper down)."""
    return sorted(CONTRACT.glob("*/*.graphql"))
