"""Trusted documents: the SPA's operations, sent by hash instead of by text.

Every operation in `frontend-contract/` is registered under
`sha256:<hex of its text as codegen prints it>`: graphql-codegen's client
preset writes `generated/persisted-documents.json` (hash -> text) and puts
the hash in each typed document's `__meta__.hash`, so the SPA can POST
`{"documentId": "sha256:…", "variables": …, "operationName": …}` (the
GraphQL-over-HTTP "persisted documents" convention). The server keeps a copy
of that manifest as package data (`persisted-documents.json` here; a test
keeps it equal to the generated one). A known id runs its text, whose parse
and validation are cached (`document_cache`); an unknown one is refused with
PERSISTED_DOCUMENT_NOT_FOUND (a SPA newer than the server, or a typo).

With GRAPHQL_TRUSTED_DOCUMENTS_ONLY=true, one rule: **a document that is not
in the manifest runs only for a signed-in owner or readonly admin** (analysts
in GraphiQL, under the usual limits); everyone else (anonymous, marketing)
gets PERSISTED_DOCUMENT_REQUIRED. A manifest document counts as trusted
whether it comes as its id or as its exact text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

from graphql import GraphQLError
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from backend.domain.errors import ErrorCode, Unauthenticated
from backend.domain.models import AdminRole

MANIFEST: Final = Path(__file__).parent / "persisted-documents.json"
AD_HOC_ROLES: Final = frozenset({AdminRole.OWNER, AdminRole.READONLY})
PREFIX: Final = "sha256:"


@cache
def manifest() -> Mapping[str, str]:
    """`documentId` -> document text, read once per process."""
    loaded: dict[str, str] = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return loaded


def document_id(text: str) -> str:
    """The id codegen gives a document: sha256 of its exact text."""
    return PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class TrustedRequestData(GraphQLRequestData):
    """A request that named a document by id; `query` is None when the id is unknown."""

    document_id: str = ""


def from_body(data: GraphQLRequestData, body: Any) -> GraphQLRequestData:
    """The request with its `documentId` looked up, or unchanged when it sent a text."""
    if data.query is not None or not isinstance(body, dict):
        return data
    wanted = body.get("documentId")
    if not isinstance(wanted, str):
        return data
    return TrustedRequestData(
        query=manifest().get(wanted),
        variables=data.variables,
        operation_name=data.operation_name,
        extensions=data.extensions,
        protocol=data.protocol,
        document_id=wanted,
    )


async def refusal(data: GraphQLRequestData, context: Any) -> ExecutionResult | None:
    """Why this request may not run (an answer to send), or None when it may."""
    if isinstance(data, TrustedRequestData):
        if data.query is None:
            return _refused(
                ErrorCode.PERSISTED_DOCUMENT_NOT_FOUND,
                "No trusted document has this documentId: update the app",
            )
        return None
    if not context.settings.graphql_trusted_documents_only:
        return None
    if data.query is not None and document_id(data.query) in manifest():
        return None
    try:
        admin = await context.admin()
    except Unauthenticated:
        admin = None
    if admin is not None and admin.role in AD_HOC_ROLES:
        return None
    return _refused(
        ErrorCode.PERSISTED_DOCUMENT_REQUIRED,
        "This server runs only trusted documents: send a documentId",
    )


def _refused(code: ErrorCode, message: str) -> ExecutionResult:
    return ExecutionResult(data=None, errors=[GraphQLError(message, extensions={"code": code})])
