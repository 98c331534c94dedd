"""Trusted documents: the SPA sends `{"documentId": "sha256:…"}` and the server runs that text.

The ids are the ones graphql-codegen writes into the SPA's generated code
(`frontend-contract/generated/persisted-documents.json`); the server keeps a
copy as package data. With GRAPHQL_TRUSTED_DOCUMENTS_ONLY, documents that
are not the SPA's run only for owner and readonly admins (GraphiQL).
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain.models import AdminRole
from backend.graphql import trusted_documents
from tests.api import GraphQLClient, GraphQLResponse, serve, settings_for, signed_in
from tests.factories import make_customer
from tests.frontend_kit import KIT

GENERATED_MANIFEST = KIT / "generated" / "persisted-documents.json"
AD_HOC = "query Mine { me { email role } }"


def trusted(name: str) -> tuple[str, str]:
    """(documentId, text) of the contract's operation `name`."""
    for document_id, text in trusted_documents.manifest().items():
        if re.search(rf"\b(query|mutation) {name}\b", text):
            return document_id, text
    raise AssertionError(f"no trusted document {name}")


async def by_id(
    http: httpx.AsyncClient, document_id: str, token: str | None = None, **variables: Any
) -> GraphQLResponse:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"documentId": document_id, "variables": variables}
    response = await http.post("/graphql", json=body, headers=headers)
    return GraphQLResponse(response.status_code, response.json())


def test_the_server_trusts_exactly_what_codegen_generated_for_the_spa() -> None:
    generated = json.loads(GENERATED_MANIFEST.read_text(encoding="utf-8"))
    assert trusted_documents.manifest() == generated, (
        "backend/graphql/persisted-documents.json differs from the SPA's generated manifest: "
        "cp frontend-contract/generated/persisted-documents.json backend/graphql/"
    )
    assert all(trusted_documents.document_id(text) == key for key, text in generated.items())


async def test_a_trusted_document_answers_as_its_text_does(
    graphql: GraphQLClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        await make_customer(session, first_name="Мария")
    token = await signed_in(sessions, AdminRole.READONLY, "reader@dvorik.test")
    document_id, text = trusted("CustomerList")
    as_text = await graphql.as_(token)(text, first=10)
    as_id = await by_id(graphql.http, document_id, token, first=10)
    assert as_text.body == as_id.body
    assert as_id.data["customers"]["edges"][0]["node"]["firstName"] == "Мария"


async def test_an_unknown_document_id_is_refused_with_its_code(graphql: GraphQLClient) -> None:
    response = await by_id(graphql.http, "sha256:" + "0" * 64)
    assert response.error_codes == ["PERSISTED_DOCUMENT_NOT_FOUND"]
    assert response.body.get("data") is None


async def test_trusted_only_refuses_ad_hoc_documents_except_for_analysts(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    owner = await signed_in(sessions, AdminRole.OWNER, "owner@dvorik.test")
    marketing = await signed_in(sessions, AdminRole.MARKETING, "marketer@dvorik.test")
    me_id, me_text = trusted("Me")
    settings = settings_for(engine, graphql_trusted_documents_only=True)
    async with serve(settings) as server, httpx.AsyncClient(base_url=server.url) as http:
        anonymous = await GraphQLClient(http)(AD_HOC)
        marketer_ad_hoc = await GraphQLClient(http, marketing)(AD_HOC)
        owner_ad_hoc = await GraphQLClient(http, owner)(AD_HOC)
        marketer_by_id = await by_id(http, me_id, marketing)
        marketer_by_text = await GraphQLClient(http, marketing)(me_text)
    assert anonymous.error_codes == ["PERSISTED_DOCUMENT_REQUIRED"]
    assert marketer_ad_hoc.error_codes == ["PERSISTED_DOCUMENT_REQUIRED"]
    assert owner_ad_hoc.data == {"me": {"email": "owner@dvorik.test", "role": "OWNER"}}
    assert marketer_by_id.data["me"]["email"] == "marketer@dvorik.test"
    assert marketer_by_text.body == marketer_by_id.body
