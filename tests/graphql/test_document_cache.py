"""Parsed and validated documents are cached by text; the cost is still each request's own.

Issue 19 cached validation (the same document is validated once), so the
cost limit, which depends on the variables, moved out of validation: the
same text with a bigger page must still be refused, after a cached pass.
"""

from __future__ import annotations

import httpx
from graphql import parse
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain.models import AdminRole
from backend.graphql.query_cost import operation_cost
from backend.graphql.schema import schema
from tests.api import GraphQLClient, graphql_core, serve, settings_for, signed_in

PAGE = "query Page($first: Int!) { customers(first: $first) { edges { node { id } } } }"


async def test_the_same_document_is_costed_with_each_requests_variables(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    shape, document = graphql_core(schema), parse(PAGE)
    cost, more = (operation_cost(shape, document, {"first": n}) for n in (10, 11))
    assert cost is not None and more is not None and cost.units < more.units
    token = await signed_in(sessions, AdminRole.READONLY, "cache@dvorik.test")
    settings = settings_for(engine, graphql_max_query_cost=cost.units)
    async with serve(settings) as server, httpx.AsyncClient(base_url=server.url) as http:
        client = GraphQLClient(http, token)
        first = await client(PAGE, first=10)
        again = await client(PAGE, first=10)
        bigger = await client(PAGE, first=11)
        broken = await client("query Page { customers(first: 1) { edges { node { idd } } } }")
    assert first.body == again.body and first.data["customers"]["edges"] == []
    assert bigger.error_codes == ["QUERY_TOO_COSTLY"] and bigger.body.get("data") is None
    assert broken.error_codes == ["INVALID_QUERY"]
