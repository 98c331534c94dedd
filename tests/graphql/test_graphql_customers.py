"""The customer list and card as the admin SPA uses them, over real HTTP."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import shop_settings
from backend.domain.audit import Actor
from backend.domain.models import (
    AdminRole,
    AuditEntry,
    Customer,
    CustomerStatus,
    Discount,
    DiscountKind,
)
from backend.task_queue import TaskiqTaskQueue
from tests.api import GraphQLClient, RunningServer
from tests.factories import make_customer, make_discount
from tests.statements import counting_statements

LIST = """
query List($first: Int!, $after: String, $filter: CustomerFilter) {
  customers(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id firstName phone username status tags } }
  }
}
"""
N_PLUS_ONE = """
query Page($first: Int!) {
  customers(first: $first) { edges { node { tags discounts { code status } } } }
}
"""


async def shop(sessions: async_sessionmaker[AsyncSession], count: int) -> list[Customer]:
    async with sessions() as session, session.begin():
        people = []
        for index in range(count):
            customer = await make_customer(
                session,
                tags=["vip"] if index % 3 == 0 else ["опт", "дети"],
                phone=f"+7914000{index:04d}",
                username=f"user{index}",
                birthday=date(1990, 1 + index % 12, 1),
            )
            await make_discount(session, customer)
            people.append(customer)
    return people


async def test_marketer_pages_through_filtered_customers(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    await shop(sessions, 7)
    marketer = staff[AdminRole.MARKETING]
    vip = {"tagsAny": ["VIP"], "status": ["ACTIVE"]}

    first = (await marketer(LIST, first=2, filter=vip)).data["customers"]
    after = first["pageInfo"]["endCursor"]
    second = (await marketer(LIST, first=2, after=after, filter=vip)).data["customers"]

    assert first["totalCount"] == 3
    assert first["pageInfo"]["hasNextPage"] and not second["pageInfo"]["hasNextPage"]
    seen = [edge["node"] for edge in first["edges"] + second["edges"]]
    assert len({node["id"] for node in seen}) == 3
    assert all(node["tags"] == ["vip"] for node in seen)
    assert all(node["phone"].startswith("+7914") for node in seen)


async def test_readonly_sees_no_contact_data(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    await shop(sessions, 2)
    response = await staff[AdminRole.READONLY](LIST, first=10)
    nodes = [edge["node"] for edge in response.data["customers"]["edges"]]
    assert len(nodes) == 2
    assert all(node["phone"] is None and node["username"] is None for node in nodes)
    assert all(node["firstName"] == "Анна" for node in nodes)


async def test_a_page_costs_the_same_few_statements_for_10_and_100_rows(
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
    server: RunningServer,
) -> None:
    await shop(sessions, 100)
    owner = staff[AdminRole.OWNER]
    counts = {}
    for size in (10, 100):
        with counting_statements(server.runtime.read_engine) as statements:
            response = await owner(N_PLUS_ONE, first=size)
        assert len(response.data["customers"]["edges"]) == size
        counts[size] = len(statements)
    assert 2 <= counts[10] == counts[100] <= 4, counts


async def test_search_finds_by_name_phone_and_telegram_id(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        maria = await make_customer(session, first_name="Мария", phone="+79140001122")
        await make_customer(session, first_name="Пётр")
    owner = staff[AdminRole.OWNER]
    for text in ("мари", "0001122", str(maria.telegram_id)):
        found = (await owner(LIST, first=10, filter={"search": text})).data["customers"]
        assert [edge["node"]["id"] for edge in found["edges"]] == [maria.id], text


async def test_search_finds_a_username_written_with_or_without_the_at_sign(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        masha = await make_customer(session, first_name="Мария", username="masha_dv")
        await make_customer(session, first_name="Пётр", username="petr")
    marketer = staff[AdminRole.MARKETING]
    for text in ("masha_dv", "@masha_dv", "@MASHA"):
        found = (await marketer(LIST, first=10, filter={"search": text})).data["customers"]
        assert [edge["node"]["id"] for edge in found["edges"]] == [masha.id], text


async def rebuilt_phone(client: GraphQLClient, known: str = "+7") -> str:
    """The attack: extend a phone prefix by whichever digit still finds someone."""
    while len(known) < 12:
        for digit in "0123456789":
            found = await client(LIST, first=1, filter={"search": known + digit})
            if found.data["customers"]["totalCount"] > 0:
                known += digit
                break
        else:
            return known
    return known


async def test_readonly_cannot_rebuild_a_phone_digit_by_digit(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        maria = await make_customer(
            session, first_name="Мария", phone="+79140001122", username="masha_dv"
        )
    readonly, marketer = staff[AdminRole.READONLY], staff[AdminRole.MARKETING]

    for text in ("+7914", "0001122", "+79140001122", "masha", "@masha_dv"):
        found = (await readonly(LIST, first=10, filter={"search": text})).data["customers"]
        assert found == {
            "totalCount": 0,
            "pageInfo": {"hasNextPage": False, "endCursor": None},
            "edges": [],
        }, text
    for text in ("мари", str(maria.telegram_id)):
        found = (await readonly(LIST, first=10, filter={"search": text})).data["customers"]
        assert [edge["node"]["id"] for edge in found["edges"]] == [maria.id], text
        assert found["edges"][0]["node"]["phone"] is None

    assert await rebuilt_phone(readonly) == "+7", "not one digit learnt"
    assert await rebuilt_phone(marketer) == "+79140001122", "the attack works where allowed"


async def test_marketer_edits_a_customer_card_and_it_is_audited(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        customer = await make_customer(session, tags=["опт"])
    edit = """
    mutation($id: Int!, $input: UpdateCustomerInput!) {
      updateCustomer(id: $id, input: $input) { note birthday tags }
    }
    """
    response = await staff[AdminRole.MARKETING](
        edit,
        id=customer.id,
        input={
            "note": "Любит лакрицу",
            "birthday": "1991-05-09",
            "addTags": ["VIP"],
            "removeTags": ["опт"],
        },
    )
    assert response.data["updateCustomer"] == {
        "note": "Любит лакрицу",
        "birthday": "1991-05-09",
        "tags": ["vip"],
    }
    async with sessions() as session:
        actions = set(await session.scalars(select(AuditEntry.action)))
    assert {"customer.update", "customer.tags"} <= actions


async def test_bad_input_is_typed_and_changes_nothing(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        customer = await make_customer(session)
    owner = staff[AdminRole.OWNER]
    edit = """
    mutation($id: Int!, $input: UpdateCustomerInput!) {
      updateCustomer(id: $id, input: $input) { id }
    }
    """

    assert (await owner(edit, id=999_999, input={"note": "x"})).error_code == "NOT_FOUND"
    bad_birthday = await owner(edit, id=customer.id, input={"birthday": "2999-01-01"})
    assert bad_birthday.error_code == "VALIDATION"
    assert (await owner(LIST, first=500)).error_code == "VALIDATION"
    assert (await owner(LIST, first=10, after="!!not-a-cursor")).error_code == "BAD_CURSOR"
    bad_rules = await owner(LIST, first=10, filter={"birthdayMonth": 13})
    assert bad_rules.error_code == "INVALID_SEGMENT_RULES"
    async with sessions() as session:
        stored = await session.get(Customer, customer.id)
        audits = await session.scalar(select(func.count()).select_from(AuditEntry))
    assert stored is not None and stored.birthday is None and stored.status is CustomerStatus.ACTIVE
    assert audits == 0


async def test_bulk_tagging_a_segment_runs_inline_below_the_threshold(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    people = await shop(sessions, 4)
    bulk = """
    mutation($ids: [Int!]) {
      bulkTagCustomers(selection: {ids: $ids}, add: ["акция"]) { affected jobId }
    }
    """
    response = await staff[AdminRole.MARKETING](bulk, ids=[p.id for p in people[:3]])
    assert response.data["bulkTagCustomers"] == {"affected": 3, "jobId": None}
    tagged = await staff[AdminRole.MARKETING](LIST, first=10, filter={"tagsAll": ["акция"]})
    assert tagged.data["customers"]["totalCount"] == 3


async def test_bulk_discount_above_the_threshold_runs_as_a_background_job(
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
    server: RunningServer,
) -> None:
    people = await shop(sessions, 4)
    async with sessions() as session, session.begin():
        await shop_settings.set_value(session, "bulk_background_threshold", 2, Actor.system())
    bulk = """
    mutation($ids: [Int!]) {
      bulkIssueDiscount(selection: {ids: $ids}, kind: MANUAL, reason: "Праздник", percent: 7) {
        affected jobId
      }
    }
    """
    response = await staff[AdminRole.MARKETING](bulk, ids=[p.id for p in people])
    result = response.data["bulkIssueDiscount"]
    assert result["affected"] == 4 and result["jobId"]

    queue = server.runtime.tasks
    assert isinstance(queue, TaskiqTaskQueue)
    await queue.wait_idle()
    job = await staff[AdminRole.READONLY](
        "query($id: String!) { job(id: $id) { kind state done total } }", id=result["jobId"]
    )
    assert job.data["job"] == {
        "kind": "bulk_issue_discount",
        "state": "COMPLETED",
        "done": 4,
        "total": 4,
    }
    async with sessions() as session:
        given = await session.scalar(
            select(func.count()).select_from(Discount).where(Discount.percent == 7)
        )
    assert given == 4


async def test_times_without_an_offset_are_a_validation_error(
    staff: dict[AdminRole, GraphQLClient],
) -> None:
    owner = staff[AdminRole.OWNER]
    for value in ("2025-03-01T00:00:00", "2025-03-01"):
        response = await owner(LIST, first=5, filter={"createdFrom": value})
        assert response.error_codes in (["VALIDATION"], ["INVALID_QUERY"]), response.body
    discounts = "query($f: DiscountFilter) { discounts(first: 5, filter: $f) { totalCount } }"
    naive = await owner(discounts, f={"issuedTo": "2025-03-01T00:00:00"})
    assert naive.error_code == "VALIDATION"


async def test_a_cursor_from_another_list_or_ordering_is_refused(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    people = await shop(sessions, 3)
    async with sessions() as session, session.begin():
        for person in people:
            await make_discount(session, person)
    owner = staff[AdminRole.OWNER]
    customers_page = await owner(LIST, first=1)
    cursor = customers_page.data["customers"]["pageInfo"]["endCursor"]
    by_id = """
    query($after: String) {
      customers(first: 1, after: $after, orderBy: {field: ID, direction: ASC}) { totalCount }
    }
    """
    discounts = "query($after: String) { discounts(first: 1, after: $after) { totalCount } }"

    assert (await owner(LIST, first=1, after=cursor)).data["customers"]["totalCount"] == 3
    assert (await owner(by_id, after=cursor)).error_code == "BAD_CURSOR"
    assert (await owner(discounts, after=cursor)).error_code == "BAD_CURSOR"


async def test_a_page_shows_each_customers_tags_and_discounts_as_their_card_does(
    staff: dict[AdminRole, GraphQLClient],
    sessions: async_sessionmaker[AsyncSession],
    server: RunningServer,
) -> None:
    """The list loads its page's tags and discounts up front; the card asks the DataLoaders.

    Asked directly, through a fragment or under an alias, the page says what
    each card says, in the same few statements.
    """
    people = await shop(sessions, 6)
    async with sessions() as session, session.begin():
        await make_discount(session, people[0], kind=DiscountKind.PROMO)
    owner = staff[AdminRole.OWNER]
    card = "query($id: Int!) { customer(id: $id) { id tags discounts { code kind } } }"
    cards = {person.id: (await owner(card, id=person.id)).data["customer"] for person in people}
    pages = {
        "direct": "{ customers(first: 10) { edges { node { id tags discounts { code kind } } } } }",
        "fragment": """
            { customers(first: 10) { ...Page } }
            fragment Page on CustomerConnection {
              edges { ... on CustomerEdge { node { ...Card } } }
            }
            fragment Card on Customer { id tags discounts { code kind } }
        """,
        "alias": """
            { list: customers(first: 10) {
                rows: edges { who: node { id tags discounts { code kind } } } } }
        """,
    }
    for name, document in pages.items():
        with counting_statements(server.runtime.read_engine) as statements:
            data = (await owner(document)).data
        edges = data["customers"]["edges"] if "customers" in data else data["list"]["rows"]
        nodes = [edge.get("node") or edge["who"] for edge in edges]
        assert {node["id"]: node for node in nodes} == cards, name
        assert 2 <= len(statements) <= 4, (name, statements)
    assert len(cards[people[0].id]["discounts"]) == 2
