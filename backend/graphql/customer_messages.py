"""Messages to one customer in the admin API: an admin's direct message, a discount's notice.

`sendCustomerMessage` is customer care writing to one person (a template or
a text). It goes through the same sender and send-rate limit as broadcasts
(a worker sends it), at once: quiet hours hold automatic notices, not a
person's deliberate message. A customer who blocked the bot or unsubscribed
is refused with CUSTOMER_NOT_ACTIVE. Marketing and owner may (permissions.py).

`CustomerNotification` is also what `Discount.notification` shows: whether
the customer is told of a discount, when, or why not.
"""

import datetime as dt

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from backend.domain import models, notifications
from backend.domain.models.notifications import CustomerNotification as NotificationRow
from backend.domain.tasks import enqueue_after_commit
from backend.graphql.permissions import allow
from backend.graphql.scalars import NotificationStatus, ParseMode, to_api, to_domain


@strawberry.type(description="One message to one customer: a discount's notice or an admin's.")
class CustomerNotification:
    id: int
    customer_id: int
    discount_id: int | None
    template_key: str | None
    status: NotificationStatus
    reason: str | None = strawberry.field(
        description="Why it was not sent: blocked, unsubscribed, or Telegram's refusal."
    )
    not_before: dt.datetime = strawberry.field(
        description="When it may go: later than it was made when given in quiet hours."
    )
    sent_at: dt.datetime | None

    @classmethod
    def of(cls, row: NotificationRow) -> "CustomerNotification":
        return cls(
            id=row.id,
            customer_id=row.customer_id,
            discount_id=row.discount_id,
            template_key=row.template_key,
            status=to_api(NotificationStatus, row.status),
            reason=row.reason,
            not_before=row.not_before,
            sent_at=row.sent_at,
        )


def send_after_commit(session: AsyncSession, notification_ids: list[int]) -> None:
    """Queue the sends once the rows are committed; a lost enqueue is sent by the sweep."""
    for notification_id in notification_ids:
        enqueue_after_commit(session, "send_planned_notification", notification_id=notification_id)


@strawberry.type
class CustomerMessageMutations:
    @strawberry.mutation(
        permission_classes=allow("Mutation.sendCustomerMessage"),
        description="Write to one customer now (a template by key, or a text in parseMode),"
        " through the broadcast sender and its rate limit; audited. Refused with"
        " CUSTOMER_NOT_ACTIVE for a customer who blocked the bot or unsubscribed.",
    )
    async def send_customer_message(
        self,
        info: Info,
        customer_id: int,
        template_key: str | None = None,
        text: str | None = None,
        parse_mode: ParseMode = ParseMode.PLAIN,
    ) -> CustomerNotification:
        actor = await info.context.actor()
        async with info.context.transaction() as session:
            row = await notifications.plan_message(
                session,
                customer_id,
                template_key=template_key,
                text=text,
                parse_mode=to_domain(models.ParseMode, parse_mode),
                actor=actor,
                now=info.context.now(),
            )
            answer = CustomerNotification.of(row)
            send_after_commit(session, [answer.id])
        return answer


ROOTS = {"mutation": CustomerMessageMutations}
