"""Customer care in the admin API: subscription on request, erasure on request (152-FZ).

Roles (permissions.py): changing a customer's subscription is marketing's
daily work (they answer the phone and run the mailings), so marketing and
owner may; erasing a customer destroys data for good, so only an owner may.
"""

import strawberry
from strawberry.types import Info

from backend.domain import customer_care
from backend.graphql.customers.types import Customer
from backend.graphql.permissions import allow


@strawberry.type(description="A customer whose personal data was erased, and what it undid.")
class CustomerErasure:
    customer: Customer = strawberry.field(description="The anonymised row that stays for KPI.")
    cancelled_codes: int = strawberry.field(description="Active codes cancelled by the erasure.")


@strawberry.type
class CustomerCareMutations:
    @strawberry.mutation(
        permission_classes=allow("Mutation.setCustomerSubscription"),
        description="Unsubscribe or resubscribe a customer who asked outside the bot"
        " (phone, letter); the reason is kept in the audit log.",
    )
    async def set_customer_subscription(
        self, info: Info, customer_id: int, subscribed: bool, reason: str
    ) -> Customer:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            row = await customer_care.set_subscription(
                session,
                customer_id,
                subscribed=subscribed,
                reason=reason,
                actor=actor,
                now=info.context.now(),
            )
        return Customer.of(row)

    @strawberry.mutation(
        permission_classes=allow("Mutation.eraseCustomer"),
        description="Erase a customer's personal data on their request (152-FZ): names,"
        " contacts, birthday, note and tags are removed, active codes cancelled, the"
        " Telegram id no longer matches; anonymous KPI counts stay.",
    )
    async def erase_customer(self, info: Info, customer_id: int, reason: str) -> CustomerErasure:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            row, cancelled = await customer_care.erase(
                session, customer_id, reason=reason, actor=actor, now=info.context.now()
            )
        return CustomerErasure(customer=Customer.of(row), cancelled_codes=cancelled)


ROOTS = {"mutation": CustomerCareMutations}
