"""Text with a NUL character (U+0000): refused as bad input on every database, nothing kept.

PostgreSQL cannot store U+0000 at all; MariaDB and SQLite can. An admin (or a
script probing the API) who sends one gets VALIDATION on all three, and the
customer card is as it was.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain.models import AdminRole, Customer
from tests.api import GraphQLClient
from tests.factories import make_customer

EDIT = """
mutation($id: Int!, $input: UpdateCustomerInput!) {
  updateCustomer(id: $id, input: $input) { note tags }
}
"""
SEARCH = """
query($filter: CustomerFilter) { customers(first: 10, filter: $filter) { totalCount } }
"""


async def test_a_note_with_a_nul_character_is_refused_and_the_card_unchanged(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        customer = await make_customer(session, note="Любит лакрицу", tags=["опт"])
    marketer = staff[AdminRole.MARKETING]

    refused = await marketer(
        EDIT, id=customer.id, input={"note": "Любит\x00 мармелад", "addTags": ["vip"]}
    )

    assert refused.error_code == "VALIDATION"
    assert "NUL" in refused.body["errors"][0]["message"]
    async with sessions() as session:
        stored = await session.get(Customer, customer.id)
        assert stored is not None
        assert stored.note == "Любит лакрицу"
    card = await marketer(EDIT, id=customer.id, input={"addTags": []})
    assert card.data["updateCustomer"] == {"note": "Любит лакрицу", "tags": ["опт"]}


async def test_a_search_with_a_nul_character_is_refused_not_an_internal_error(
    staff: dict[AdminRole, GraphQLClient],
) -> None:
    found = await staff[AdminRole.READONLY](SEARCH, filter={"search": "Ива\x00н"})
    assert found.error_code == "VALIDATION"
