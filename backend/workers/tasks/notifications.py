"""Messages to one customer: a birthday greeting, a discount's notice, an admin's message.

Two kinds. A greeting (`send_customer_notification`) is a template rendered
and sent at once by the customer bot. A planned notification
(`backend.domain.notifications`: a discount's notice, an admin's message) is a
row claimed once, sent in its turn of the broadcasts' shared send limiter and
recorded; `deliver_due_notifications` sends every minute those held for quiet
hours, given in bulk, or whose task was lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import datetime
from typing import Any

from backend.domain import customers, notifications, shop_settings, templates
from backend.domain.clock import utcnow
from backend.domain.database import run_in_transaction
from backend.domain.models import CustomerStatus
from backend.domain.models.notifications import NotificationStatus
from backend.domain.notifications import Outgoing
from backend.domain.templates import Rendered
from backend.runtime import Runtime
from backend.telegram.bot_api import (
    BadRequest,
    BotApi,
    BotApiError,
    Forbidden,
    NetworkError,
    RetryAfter,
)
from backend.telegram.qr_codes import qr_png
from backend.workers import sending
from backend.workers.sending import SendRateLimiter
from backend.workers.tasks.state import SendLimiter, WorkerRuntime

log = logging.getLogger("dvorik.tasks")

SEND_ATTEMPTS = 3  # a notification waits out Telegram's "retry after" this many times
NOTIFY_CONCURRENCY = 32  # notices of one sweep on their way at once (the limiter sets the pace)


async def send_notification(
    runtime: Runtime, customer_id: int, template_key: str, context: dict[str, Any]
) -> str:
    """Render `template_key` and send it by the customer bot; returns what happened.

    "sent", "blocked" (the customer blocked the bot: now or before; they are
    marked blocked), "missing" (no such customer), "no_bot" (bots are not
    configured) or "failed" (Telegram refused the message for another reason).
    """
    async with runtime.sessions() as session:
        customer = await customers.find(session, customer_id)
        if customer is None:
            return "missing"
        if customer.status is CustomerStatus.BLOCKED:
            return "blocked"
        chat_id = customer.telegram_id
        message = await templates.render_message(session, template_key, **context)
    api = runtime.customer_api
    if api is None:
        log.warning("bots are not configured: %s for customer %s not sent", template_key, chat_id)
        return "no_bot"
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            await api.send_message(chat_id, message.text, message.telegram_parse_mode)
            return "sent"
        except RetryAfter as error:
            if attempt == SEND_ATTEMPTS:
                raise
            await asyncio.sleep(error.retry_after)
        except Forbidden:
            await run_in_transaction(
                runtime.sessions,
                lambda session: customers.mark_blocked(session, customer_id, now=utcnow()),
            )
            return "blocked"
        except BadRequest as error:  # chat not found, deactivated account, ...
            log.info("could not send %s to customer %s: %s", template_key, customer_id, error)
            return "failed"
    raise AssertionError("unreachable")


async def deliver_notification(
    runtime: Runtime,
    limiter: SendRateLimiter,
    notification_id: int,
    *,
    now: datetime | None = None,
) -> str:
    """Send one planned notification (`backend.domain.notifications`) once; returns what happened.

    The row is claimed in its own transaction before anything goes out, so a
    redelivered task, or the sweep racing the task, finds it taken ("done").
    Not yet due (quiet hours): "held", left for the sweep in the morning. The
    message waits for its slot in the broadcast engine's limiter. A discount's
    notice is its template as the caption of the code's QR picture, as in the
    customer's cabinet. "sent", "skipped" (blocked or unsubscribed: nothing
    sent), "failed" (Telegram refused; in doubt after a lost answer: never
    resent), "no_bot" (this process has no bots: left pending, untouched).
    """
    api = runtime.customer_api
    if api is None:  # claim nothing: a worker with bots (or the sweep) sends it
        log.warning("bots are not configured: notification %s waits", notification_id)
        return "no_bot"
    moment = now or utcnow()
    claimed = await run_in_transaction(
        runtime.sessions,
        lambda session: notifications.claim(session, notification_id, now=moment),
    )
    if isinstance(claimed, str):
        return claimed
    message, rate = await _rendered(runtime, claimed)
    status, reason, message_id = await _send(runtime, api, limiter, claimed, message, rate)
    await run_in_transaction(
        runtime.sessions,
        lambda session: notifications.record_outcome(
            session, claimed.id, status, now=utcnow(), reason=reason, message_id=message_id
        ),
    )
    if status is not NotificationStatus.SENT:
        log.info("notification %s not sent: %s", claimed.id, reason)
    return status.value


async def _rendered(runtime: Runtime, claimed: Outgoing) -> tuple[Rendered, float]:
    """The notification's message, and the shop's send rate it goes out at."""
    async with runtime.sessions() as session:
        if claimed.text is not None:
            message = templates.render_text(claimed.text, claimed.parse_mode, {})
        else:
            values = dict(claimed.context)
            if "expires_at" in values:
                values["expires_on"] = runtime.texts.last_day(
                    datetime.fromisoformat(str(values.pop("expires_at")))
                )
            message = await templates.render_message(session, claimed.template_key or "", **values)
        rate = await shop_settings.get_int(session, "broadcast_send_rate_per_second")
    return message, float(rate)


async def _send(
    runtime: Runtime,
    api: BotApi,
    limiter: SendRateLimiter,
    claimed: Outgoing,
    message: Rendered,
    rate: float,
) -> tuple[NotificationStatus, str | None, int | None]:
    """Send in the limiter's turn, waiting out flood control; the outcome to record."""
    status, reason = NotificationStatus.FAILED, "not sent"
    for attempt in range(1, SEND_ATTEMPTS + 1):
        await sending.take_slot(limiter, claimed.chat_id, rate=rate)
        try:
            if claimed.qr_code is not None:
                message_id = await api.send_photo(
                    claimed.chat_id,
                    qr_png(claimed.qr_code),
                    f"{claimed.qr_code}.png",
                    message.text,
                    message.telegram_parse_mode,
                )
            else:
                message_id = await api.send_message(
                    claimed.chat_id, message.text, message.telegram_parse_mode
                )
            return NotificationStatus.SENT, None, message_id
        except RetryAfter as error:  # everyone pauses; this one goes again after it
            await limiter.slow_down(error.retry_after)
            status, reason = NotificationStatus.FAILED, f"flood control: {error.message}"
            if attempt == SEND_ATTEMPTS:
                break
        except Forbidden:
            await run_in_transaction(
                runtime.sessions,
                lambda session: customers.mark_blocked(session, claimed.customer_id, now=utcnow()),
            )
            return NotificationStatus.SKIPPED, "blocked", None
        except NetworkError as error:  # the answer was lost: maybe it arrived
            return NotificationStatus.FAILED, f"ambiguous: {error.message}", None
        except BotApiError as error:  # chat not found, deactivated account, ...
            return NotificationStatus.FAILED, error.message, None
    return status, reason, None


async def deliver_due_notifications_job(
    runtime: Runtime, limiter: SendRateLimiter, *, now: datetime
) -> Counter[str]:
    """Send every pending notification whose moment has come: the morning after quiet
    hours, a bulk issue's notices, any whose task was lost. Returns outcomes by kind.

    They go out together, each in its turn of the shared limiter, so a
    thousand notices leave at the shop's send rate and share it with a
    running broadcast.
    """
    async with runtime.sessions() as session:
        due = await notifications.due(session, now=now)
    gate = asyncio.Semaphore(NOTIFY_CONCURRENCY)

    async def one(notification_id: int) -> str:
        async with gate:
            return await deliver_notification(runtime, limiter, notification_id, now=now)

    return Counter(await asyncio.gather(*(one(notification_id) for notification_id in due)))


# --- the tasks ---------------------------------------------------------------------------------


async def send_customer_notification(
    runtime: WorkerRuntime, customer_id: int, template_key: str, context: dict[str, Any]
) -> str:
    return await send_notification(runtime, customer_id, template_key, context)


async def send_planned_notification(
    runtime: WorkerRuntime, limiter: SendLimiter, notification_id: int
) -> str:
    """Queued after the commit that planned it (an issued discount, an admin's message)."""
    return await deliver_notification(runtime, limiter, notification_id)


async def deliver_due_notifications(
    runtime: WorkerRuntime, limiter: SendLimiter, now: datetime | None = None
) -> dict[str, int]:
    """Every minute: notices held for quiet hours, given in bulk, or whose task was lost."""
    return dict(await deliver_due_notifications_job(runtime, limiter, now=now or utcnow()))
