"""Marketers issue and cancel discounts and look codes up, over real HTTP."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain.clock import business_date, utcnow
from backend.domain.models import AdminRole, AuditEntry, Discount
from tests.api import GraphQLClient
from tests.factories import make_customer

ISSUE = """
mutation($input: IssueDiscountInput!) {
  issueDiscount(input: $input) { id code percent kind status reason customer { firstName } }
}
"""
CANCEL = 'mutation($id: Int!) { cancelDiscount(id: $id, reason: "ошибка") { status } }'
BY_CODE = "query($code: String!) { discount(code: $code) { id status } }"
HISTORY = """
query($customer: Int!) {
  discounts(first: 10, filter: {customerId: $customer, statuses: [ACTIVE, CANCELLED]}) {
    totalCount edges { node { code status } }
  }
}
"""


async def test_marketer_issues_looks_up_and_cancels_a_discount(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        customer = await make_customer(session, first_name="Мария")
    marketer = staff[AdminRole.MARKETING]

    issued = (
        await marketer(
            ISSUE,
            input={"customerId": customer.id, "reason": "Жалоба на доставку", "percent": 20},
        )
    ).data["issueDiscount"]
    assert issued["kind"] == "MANUAL" and issued["percent"] == 20
    assert issued["customer"] == {"firstName": "Мария"}

    typed = issued["code"].lower()[:4] + " " + issued["code"][4:]
    found = (await marketer(BY_CODE, code=typed)).data["discount"]
    assert found == {"id": issued["id"], "status": "ACTIVE"}

    cancelled = (await marketer(CANCEL, id=issued["id"])).data["cancelDiscount"]
    assert cancelled == {"status": "CANCELLED"}
    again = await marketer(CANCEL, id=issued["id"])
    assert again.error_code == "DISCOUNT_NOT_ACTIVE"

    history = (await marketer(HISTORY, customer=customer.id)).data["discounts"]
    assert history["totalCount"] == 1
    async with sessions() as session:
        actions = sorted(await session.scalars(select(AuditEntry.action)))
    assert actions == ["discount.cancel", "discount.issue"]


async def test_the_admin_sees_the_same_last_day_as_the_customer_and_the_till(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A code is valid through the day shown; the API names that day, not a UTC instant."""
    async with sessions() as session, session.begin():
        customer = await make_customer(session, first_name="Мария")
    marketer = staff[AdminRole.MARKETING]
    query = """
    mutation($input: IssueDiscountInput!) {
      issueDiscount(input: $input) { expiresAt validThrough }
    }
    """
    vladivostok = ZoneInfo("Asia/Vladivostok")
    today = business_date(utcnow(), vladivostok)
    issued = (
        await marketer(query, input={"customerId": customer.id, "reason": "VIP", "validDays": 7})
    ).data["issueDiscount"]

    expires_at = dt.datetime.fromisoformat(issued["expiresAt"])
    assert issued["validThrough"] == (today + dt.timedelta(days=7)).isoformat()
    # expiresAt is the midnight after that day, in the shop's zone.
    assert expires_at.astimezone(vladivostok).time() == dt.time(0, 0)
    assert expires_at.astimezone(vladivostok).date() == today + dt.timedelta(days=8)


async def test_readonly_cannot_issue_and_nothing_is_written(
    staff: dict[AdminRole, GraphQLClient], sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        customer = await make_customer(session)
    response = await staff[AdminRole.READONLY](
        ISSUE, input={"customerId": customer.id, "reason": "хочу"}
    )
    assert response.error_code == "FORBIDDEN"
    no_reason = await staff[AdminRole.OWNER](
        ISSUE, input={"customerId": customer.id, "reason": " "}
    )
    assert no_reason.error_code == "VALIDATION"
    unknown = await staff[AdminRole.OWNER](ISSUE, input={"customerId": 424242, "reason": "x"})
    assert unknown.error_code == "NOT_FOUND"
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Discount)) == 0


async def test_unknown_code_is_null_and_both_keys_is_an_error(
    staff: dict[AdminRole, GraphQLClient],
) -> None:
    owner = staff[AdminRole.OWNER]
    assert (await owner(BY_CODE, code="ZZZZZZZZ")).data == {"discount": None}
    both = await owner('{ discount(id: 1, code: "ABCDEFGH") { id } }')
    assert both.error_code == "VALIDATION"
