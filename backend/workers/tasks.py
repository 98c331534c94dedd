"""Taskiq tasks: thin wrappers that open the runtime's sessions and call domain services.

Each worker process builds one `Runtime` at start-up (Taskiq's WORKER_STARTUP
event, kept in the broker's `TaskiqState`) and hands it to tasks through a
dependency; in the embedded mode the API's own runtime is put there instead.

Task names are the bare names the API enqueues through `TaskQueue`
("process_broadcast", "bulk_add_tags", ...). Every task may run twice (a worker
that dies before acknowledging is replaced by another that runs it again), so
each relies on an idempotent domain operation. The scheduled ones take an
optional `now` so tests (and a manual re-run) can fix the moment.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from sqlalchemy import event, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import AsyncBroker, TaskiqDepends, TaskiqEvents, TaskiqState

from backend.domain import birthdays, broadcasts, customers, discounts, templates
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.database import run_in_transaction
from backend.domain.errors import DomainError, InvalidState
from backend.domain.models import Customer, CustomerStatus, Discount, DiscountKind
from backend.runtime import Runtime
from backend.settings import get_settings
from backend.workers import bulk_tasks, sending
from backend.workers.sending import BroadcastOutcome, SendRateLimiter

log = logging.getLogger("dvorik.tasks")

SEND_ATTEMPTS = 3  # a notification waits out Telegram's "retry after" this many times


@dataclass(frozen=True)
class Greeting:
    """A birthday discount just issued, as the greeting needs it (read before the commit)."""

    id: int
    customer_id: int
    percent: int
    code: str
    expires_at: datetime


# --- worker state -----------------------------------------------------------------------------


async def start_runtime(state: TaskiqState) -> None:
    """WORKER_STARTUP: one Runtime per worker process, unless one was handed in (embedded).

    Also the process's send-rate limiter, shared by every broadcast it sends
    (through Redis it is shared with the other workers too).
    """
    if "runtime" not in state:
        settings = state["settings"] if "settings" in state else get_settings()
        state.runtime = Runtime.start(settings)
        state.owns_runtime = True
    if "send_limiter" not in state:
        state.send_limiter = sending.create_send_rate_limiter(state.runtime.settings.redis_url)
    if "worker_id" not in state:
        state.worker_id = f"{socket.gethostname()}:{os.getpid()}"


async def stop_runtime(state: TaskiqState) -> None:
    """WORKER_SHUTDOWN: stop what `start_runtime` built (never the API's Runtime)."""
    limiter: SendRateLimiter | None = state.pop("send_limiter", None)
    if limiter is not None:
        await limiter.close()
    if state.pop("owns_runtime", False):
        runtime: Runtime = state.pop("runtime")
        await runtime.stop()


State = Annotated[TaskiqState, TaskiqDepends()]


def worker_runtime(state: State) -> Runtime:
    runtime: Runtime = state.runtime
    return runtime


def worker_id(state: State) -> str:
    return str(state.get("worker_id") or f"{socket.gethostname()}:{os.getpid()}")


def send_limiter(state: State) -> SendRateLimiter:
    limiter: SendRateLimiter = state.send_limiter
    return limiter


WorkerRuntime = Annotated[Runtime, TaskiqDepends(worker_runtime)]
SendLimiter = Annotated[SendRateLimiter, TaskiqDepends(send_limiter)]
WorkerId = Annotated[str, TaskiqDepends(worker_id)]


# --- the work, as plain functions of a runtime (the tasks below wrap these) --------------------


async def send_notification(
    runtime: Runtime, customer_id: int, template_key: str, context: dict[str, Any]
) -> str:
    """Render `template_key` and send it by the customer bot; returns what happened.

    "sent", "blocked" (the customer blocked the bot: now or before; they are
    marked blocked), "missing" (no such customer), "no_bot" (bots are not
    configured) or "failed" (Telegram refused the message for another reason).
    """
    async with runtime.sessions() as session:
        customer = await session.get(Customer, customer_id)
        if customer is None:
            return "missing"
        if customer.status is CustomerStatus.BLOCKED:
            return "blocked"
        chat_id = customer.telegram_id
        text = await templates.render(session, template_key, **context)
    if runtime.bots is None:
        log.warning("bots are not configured: %s for customer %s not sent", template_key, chat_id)
        return "no_bot"
    bot = runtime.bots.customer.bot
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            await bot.send_message(chat_id, text)
            return "sent"
        except TelegramRetryAfter as error:
            if attempt == SEND_ATTEMPTS:
                raise
            await asyncio.sleep(error.retry_after)
        except TelegramForbiddenError:
            await run_in_transaction(
                runtime.sessions,
                lambda session: customers.mark_blocked(session, customer_id, now=utcnow()),
            )
            return "blocked"
        except TelegramBadRequest as error:  # chat not found, deactivated account, ...
            log.info("could not send %s to customer %s: %s", template_key, customer_id, error)
            return "failed"
    raise AssertionError("unreachable")


async def birthday_job(runtime: Runtime, *, now: datetime) -> list[int]:
    """Issue today's birthday discounts, then queue a greeting for each; returns their ids.

    Only discounts this very run inserted are greeted, so a second run (same
    day, or a second scheduler) issues and greets nothing. The greetings are
    queued after the commit; a crash between the two loses greetings, never
    doubles them.
    """

    async def issue(session: AsyncSession) -> list[Greeting]:
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
        return [
            Greeting(d.id, d.customer_id, d.percent, d.code, d.expires_at)
            for d in inserted
            if inspect(d).persistent
        ]

    issued = await run_in_transaction(runtime.sessions, issue)
    if not issued:
        return []
    async with runtime.sessions() as session:
        people = await _first_names(session, {discount.customer_id for discount in issued})
    for discount in issued:
        await runtime.tasks.enqueue(
            "send_customer_notification",
            customer_id=discount.customer_id,
            template_key="birthday_discount",
            context={
                "first_name": people.get(discount.customer_id, ""),
                "percent": discount.percent,
                "code": discount.code,
                "expires_on": runtime.texts.day(discount.expires_at),
            },
        )
    return [discount.id for discount in issued]


async def _first_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    rows = await session.execute(
        select(Customer.id, Customer.first_name).where(Customer.id.in_(sorted(ids)))
    )
    return {customer_id: first_name for customer_id, first_name in rows.all()}


async def start_due_broadcasts_job(runtime: Runtime, *, now: datetime) -> list[int]:
    """Start every scheduled broadcast whose time has come; returns the ids this run started.

    `send_now` locks the row and checks the state, so of two concurrent runs
    (two schedulers, or a redelivered message) only one starts a broadcast and
    queues its engine; the other gets InvalidState and moves on.
    """
    async with runtime.sessions() as session:
        due = [broadcast.id for broadcast in await broadcasts.due_for_sending(session, now=now)]
    started: list[int] = []
    actor = Actor.system("scheduler")
    for broadcast_id in due:

        def start(session: AsyncSession, broadcast_id: int = broadcast_id) -> Awaitable[Any]:
            return broadcasts.send_now(session, broadcast_id, actor=actor, now=now)

        try:
            await run_in_transaction(runtime.sessions, start)
        except InvalidState:
            continue  # started (or cancelled) by someone else meanwhile
        except DomainError as error:
            log.warning("scheduled broadcast %s cannot start: %s", broadcast_id, error)
            continue
        await runtime.tasks.enqueue("process_broadcast", broadcast_id=broadcast_id)
        started.append(broadcast_id)
    return started


async def expire_job(runtime: Runtime, *, now: datetime) -> int:
    return await run_in_transaction(
        runtime.sessions, lambda session: discounts.expire_due(session, now=now)
    )


async def broadcast_job(
    runtime: Runtime, broadcast_id: int, *, limiter: SendRateLimiter, worker: str
) -> BroadcastOutcome | None:
    """Run the sending engine for one broadcast until it is done, paused or cancelled.

    The engine is resumable and safe to run twice at once (its delivery ledger
    leases each row to one run), which a redelivered message may do.
    """
    if runtime.bots is None:
        log.warning("bots are not configured: broadcast %s waits in 'sending'", broadcast_id)
        return None
    return await sending.process_broadcast(
        runtime.sessions,
        runtime.bots.customer.bot,
        runtime.pubsub,
        limiter,
        broadcast_id,
        worker_id=f"{worker}:{uuid.uuid4().hex[:8]}",  # one lease holder per run
        zone=runtime.settings.zone,
        lease=timedelta(seconds=runtime.settings.broadcast_lease_seconds),
    )


# --- the tasks -------------------------------------------------------------------------------


async def process_broadcast(
    runtime: WorkerRuntime, limiter: SendLimiter, worker: WorkerId, broadcast_id: int
) -> BroadcastOutcome | None:
    return await broadcast_job(runtime, broadcast_id, limiter=limiter, worker=worker)


async def send_customer_notification(
    runtime: WorkerRuntime, customer_id: int, template_key: str, context: dict[str, Any]
) -> str:
    return await send_notification(runtime, customer_id, template_key, context)


async def bulk_add_tags(
    runtime: WorkerRuntime,
    customer_ids: list[int],
    add: list[str],
    remove: list[str],
    admin_id: int | None,
) -> int:
    return await bulk_tasks.bulk_add_tags(
        runtime.sessions, customer_ids=customer_ids, add=add, remove=remove, admin_id=admin_id
    )


async def bulk_issue_discount(
    runtime: WorkerRuntime,
    customer_ids: list[int],
    kind: str,
    reason: str,
    percent: int | None,
    valid_days: int | None,
    admin_id: int | None,
) -> int:
    return await bulk_tasks.bulk_issue_discount(
        runtime.sessions,
        customer_ids=customer_ids,
        kind=kind,
        reason=reason,
        percent=percent,
        valid_days=valid_days,
        admin_id=admin_id,
    )


async def give_birthday_discounts(runtime: WorkerRuntime, now: datetime | None = None) -> list[int]:
    return await birthday_job(runtime, now=now or utcnow())


async def start_due_broadcasts(runtime: WorkerRuntime, now: datetime | None = None) -> list[int]:
    return await start_due_broadcasts_job(runtime, now=now or utcnow())


async def expire_discounts(runtime: WorkerRuntime, now: datetime | None = None) -> int:
    return await expire_job(runtime, now=now or utcnow())


TASKS: dict[str, Callable[..., Awaitable[Any]]] = {
    "process_broadcast": process_broadcast,
    "send_customer_notification": send_customer_notification,
    "bulk_add_tags": bulk_add_tags,
    "bulk_issue_discount": bulk_issue_discount,
    "give_birthday_discounts": give_birthday_discounts,
    "start_due_broadcasts": start_due_broadcasts,
    "expire_discounts": expire_discounts,
}


def register_tasks(broker: AsyncBroker) -> None:
    """Put every Dvorik task on `broker` and build the worker's Runtime on its start-up."""
    broker.add_event_handler(TaskiqEvents.WORKER_STARTUP, start_runtime)
    broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, stop_runtime)
    for name, function in TASKS.items():
        broker.register_task(function, task_name=name)
