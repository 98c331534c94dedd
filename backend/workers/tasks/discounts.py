"""Scheduled discount work: today's birthday gifts with their greetings, and expiry.

Both may run twice (two schedulers, a redelivered message) with one effect:
a birthday discount has a once_key per customer and year, and expiry is an
UPDATE of what is still active. They take an optional `now` so tests (and a
manual re-run) can fix the moment.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import birthdays, customers, discounts
from backend.domain.clock import utcnow
from backend.domain.database import run_in_transaction
from backend.domain.models import Discount, DiscountKind
from backend.domain.tasks import enqueue_after_commit
from backend.runtime import Runtime
from backend.task_queue import after_commit
from backend.workers.tasks.state import WorkerRuntime


async def birthday_job(runtime: Runtime, *, now: datetime) -> list[int]:
    """Issue today's birthday discounts, each with a greeting queued; returns their ids.

    Only discounts this very run inserted are greeted, so a second run (same
    day, or a second scheduler) issues and greets nothing. The greetings are
    sent after the commit; a crash between the two loses greetings, never
    doubles them.
    """

    async def issue(session: AsyncSession) -> list[int]:
        issued = await _issue_birthday_discounts(session, runtime, now=now)
        people = await customers.first_names(session, {d.customer_id for d in issued})
        for discount in issued:
            enqueue_after_commit(
                session,
                "send_customer_notification",
                customer_id=discount.customer_id,
                template_key="birthday_discount",
                context={
                    "first_name": people.get(discount.customer_id, ""),
                    "percent": discount.percent,
                    "code": discount.code,
                    "expires_on": runtime.texts.last_day(discount.expires_at),
                },
            )
        return [discount.id for discount in issued]

    return await after_commit.run_in_transaction(runtime.sessions, runtime.tasks, issue)


async def _issue_birthday_discounts(
    session: AsyncSession, runtime: Runtime, *, now: datetime
) -> list[Discount]:
    """The birthday discounts `give_birthday_discounts` inserted in this transaction."""
    inserted: list[Discount] = []

    def collect(_session: Any, instance: object) -> None:
        if isinstance(instance, Discount) and instance.kind is DiscountKind.BIRTHDAY:
            inserted.append(instance)

    event.listen(session.sync_session, "pending_to_persistent", collect)
    try:
        await birthdays.give_birthday_discounts(session, now=now, zone=runtime.settings.zone)
    finally:
        event.remove(session.sync_session, "pending_to_persistent", collect)
    # A savepoint rolled back after its insert (a code clash) took that row with it.
    return [discount for discount in inserted if inspect(discount).persistent]


async def expire_job(runtime: Runtime, *, now: datetime) -> int:
    return await run_in_transaction(
        runtime.sessions, lambda session: discounts.expire_due(session, now=now)
    )


# --- the tasks ---------------------------------------------------------------------------------


async def give_birthday_discounts(runtime: WorkerRuntime, now: datetime | None = None) -> list[int]:
    return await birthday_job(runtime, now=now or utcnow())


async def expire_discounts(runtime: WorkerRuntime, now: datetime | None = None) -> int:
    return await expire_job(runtime, now=now or utcnow())
