"""The delivery ledger: one `BroadcastDelivery` row per recipient, sent exactly once.

The engine (`backend.workers.sending`) drives these functions; this module owns
the rules, so they hold whichever worker, and however many, runs a broadcast.

Exactly-once protocol (no extra columns: status, attempts, last_error,
telegram_message_id and sent_at carry it):

1. `resolve_audience` turns the broadcast's `rules_snapshot` into rows once: one
   INSERT … SELECT, atomic, skipped if the broadcast has rows already (the
   broadcast row is locked first so two workers cannot both insert).
2. `claim_batch` leases rows. In one transaction it picks pending rows that
   nobody holds, sets `attempts = attempts + 1` and writes a lease into
   `last_error`: ``claimed until <UTC deadline> by <worker>#<nonce>`` (the
   conditional UPDATE re-checks "pending and not held", so of two racing
   workers each row goes to one). The engine claims only what its rate
   limiter lets it send within the next fraction of a second, and renders
   (and issues promo codes) for those rows here.
3. `start_sending` is the write-ahead mark, committed just before the
   requests go out, for the few rows about to be sent at once: the lease
   becomes ``sending until …`` (same deadline and holder). Only rows still
   carrying this worker's lease are started, and only those are sent.
4. The worker then records what happened, each a conditional UPDATE on a still
   pending row: `mark_sent` (status sent, message id, sent_at; a batch in one
   UPDATE), `mark_blocked` (403: the customer is marked blocked too),
   `mark_failed` (Telegram refused: 400 "chat not found", retries used up,
   ...), `unstart_one` when a request was *certainly* refused (429, 5xx, a
   connection never opened) and will be retried by the same worker, and
   also at once on a final refusal (400, 403) before that outcome is
   recorded, so a worker killed in between leaves a row to be sent again
   (and refused again), not one in doubt; or
   `release_for_retry` when the worker lets a row go unsent (stopping before
   the request): the lease is dropped and the row is pending again for any
   worker.
5. A worker that dies leaves its leases behind; `expire_leases` settles them
   once their deadline passes. A row only claimed was certainly not sent: it
   goes back to pending and another run sends it. A row started (the request
   may have reached Telegram) is the one case nobody can settle, like a
   timeout or a connection dropped mid-request: resending could send twice,
   so the rule is **never resend**: the row is marked failed with last_error
   ``ambiguous: …`` (`mark_ambiguous`). `count_ambiguous` counts them apart
   from real failures. Such a customer got the message at most once, maybe
   not at all. A late `mark_sent` from a worker that was only slow upgrades it
   to sent.
6. `finish_if_done` ends the broadcast with one conditional UPDATE (status
   still "sending" and no pending rows): two workers cannot both. It ends
   "completed" when at least one row was sent, and "failed" when rows exist
   and none was (every recipient refused, blocked, or in doubt: e.g. a text
   Telegram cannot parse); a broadcast with no recipients at all completes.

So: a row is sent only by the worker holding its lease, a lease is given only
to a pending row nobody holds, and a started row whose result is lost is never
given out again. A restarted worker resumes with the rows still pending; rows
skipped are only the ambiguous ones (at most the requests on the wire when a
worker died), and they are counted.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Literal, NamedTuple

from sqlalchemy import CursorResult, case, exists, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import audit, broadcasts, customers, discounts, segments, templates
from backend.domain.audit import Actor
from backend.domain.clock import last_valid_day
from backend.domain.errors import AlreadyIssued, InvalidState
from backend.domain.models import (
    Broadcast,
    BroadcastDelivery,
    BroadcastStatus,
    Customer,
    CustomerStatus,
    DeliveryStatus,
    Discount,
    DiscountKind,
    ParseMode,
)

ENGINE_ACTOR = Actor.system("broadcast-engine")
CLAIMED = "claimed until "
STARTED = "sending until "
IN_FLIGHT = (CLAIMED, STARTED)  # prefixes of a held row's last_error
AMBIGUOUS = "ambiguous: "
RELEASED = "released: "
WORKER_LOST = "worker lost while sending (not retried)"
WORKER_LOST_BEFORE = "worker lost before sending"
_ERROR_LENGTH = 255
_DEADLINE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_DEADLINE = re.compile(r"^(?:claimed|sending) until (\S+) by ")

_D = BroadcastDelivery
_HELD = or_(_D.last_error.startswith(CLAIMED), _D.last_error.startswith(STARTED))
_NOT_HELD = or_(_D.last_error.is_(None), ~_HELD)
_AMBIGUOUS_ROW = (_D.status == DeliveryStatus.FAILED) & _D.last_error.startswith(AMBIGUOUS)


@dataclass(frozen=True)
class Claim:
    """One delivery a worker holds the lease of: send `text` to `chat_id` now."""

    delivery_id: int
    broadcast_id: int
    customer_id: int
    chat_id: int
    attempt: int  # the row's `attempts` after this claim (1 on the first try)
    text: str
    parse_mode: ParseMode
    lease: str  # the claim's marker in last_error; `start_sending` checks it is still there


def _started(lease: str) -> str:
    """The marker `start_sending` writes over a claim's `lease`."""
    return STARTED + lease.removeprefix(CLAIMED)


OutcomeKind = Literal["sent", "blocked", "failed", "ambiguous", "released"]


@dataclass(frozen=True)
class Outcome:
    """What became of one claim, to record in a batch with `record_outcomes`."""

    delivery_id: int
    kind: OutcomeKind
    message_id: int | None = None
    reason: str | None = None


# --- The audience ---------------------------------------------------------------------------


async def resolve_audience(session: AsyncSession, broadcast_id: int, *, now: datetime) -> int:
    """Create the delivery rows from `rules_snapshot` once; returns how many rows there are.

    One INSERT … SELECT over the segment query (no Python loop); a second call
    finds rows and inserts nothing, so a restarted worker may always call it.
    """
    broadcast = await broadcasts.get(session, broadcast_id, for_update=True)
    if broadcast.rules_snapshot is None:
        raise InvalidState(
            f"broadcast {broadcast_id} has not started sending (no audience yet)",
            entity="broadcast",
            status=broadcast.status.value,
        )
    existing = await _count(session, broadcast_id)
    if existing:
        return existing
    rules = segments.parse_rules(broadcast.rules_snapshot)
    already = exists().where(_D.broadcast_id == broadcast_id, _D.customer_id == Customer.id)
    members = segments.members_query(rules, now=now).where(~already)
    rows = members.add_columns(
        literal(broadcast_id), literal(DeliveryStatus.PENDING.value), literal(0)
    )
    await session.execute(
        insert(_D).from_select(["customer_id", "broadcast_id", "status", "attempts"], rows)
    )
    return await _count(session, broadcast_id)


async def _count(session: AsyncSession, broadcast_id: int) -> int:
    count = await session.scalar(select(func.count(_D.id)).where(_D.broadcast_id == broadcast_id))
    return count or 0


# --- Claiming ---------------------------------------------------------------------------------


def lease_marker(worker_id: str, deadline: datetime) -> str:
    stamp = deadline.astimezone(UTC).strftime(_DEADLINE_FORMAT)
    return f"{CLAIMED}{stamp} by {worker_id[:64]}#{uuid.uuid4().hex[:12]}"


def lease_deadline(marker: str | None) -> datetime | None:
    """The deadline written by `lease_marker`, or None for anything else."""
    match = _DEADLINE.match(marker or "")
    if match is None:
        return None
    return datetime.strptime(match.group(1), _DEADLINE_FORMAT).replace(tzinfo=UTC)


async def claim_batch(
    session: AsyncSession,
    broadcast_id: int,
    *,
    limit: int,
    worker_id: str,
    now: datetime,
    lease: timedelta,
    zone: tzinfo = UTC,
) -> list[Claim]:
    """Up to `limit` pending deliveries, leased to this worker and rendered, by id.

    Only while the broadcast is "sending": after a pause or cancel commits, no
    further rows are claimed. Rows of customers who blocked the bot or
    unsubscribed since the audience was fixed are settled here, not sent.
    Commit before sending: the claim is the write-ahead mark of the protocol.
    """
    if limit < 1:
        return []
    broadcast = await session.get(Broadcast, broadcast_id, populate_existing=True)
    if broadcast is None or broadcast.status is not BroadcastStatus.SENDING:
        return []
    candidates = list(
        await session.scalars(
            select(_D.id)
            .where(
                _D.broadcast_id == broadcast_id,
                _D.status == DeliveryStatus.PENDING,
                _NOT_HELD,
            )
            .order_by(_D.id)
            .limit(limit)
        )
    )
    if not candidates:
        return []
    marker = lease_marker(worker_id, now + lease)
    await session.execute(
        update(_D)
        .where(_D.id.in_(candidates), _D.status == DeliveryStatus.PENDING, _NOT_HELD)
        .values(attempts=_D.attempts + 1, last_error=marker)
        .execution_options(synchronize_session=False)
    )
    found = await session.execute(
        select(_D.id, _D.attempts, *_RECIPIENT_COLUMNS)
        .join(Customer, Customer.id == _D.customer_id)
        .where(_D.id.in_(candidates), _D.last_error == marker)
        .order_by(_D.id)
    )
    rows = [(row[0], row[1], Recipient(*row[2:])) for row in found]
    for delivery_id, _, recipient in rows:
        if not _reachable(recipient):
            await _settle_unreachable(session, delivery_id, recipient)
    live = [(d, a, r) for d, a, r in rows if _reachable(r)]
    promos = await _promos(session, broadcast, [recipient.id for _, _, recipient in live], now=now)
    return [
        Claim(
            delivery_id=delivery_id,
            broadcast_id=broadcast_id,
            customer_id=recipient.id,
            chat_id=recipient.telegram_id,
            attempt=attempts,
            text=render_for(
                broadcast.text,
                recipient,
                promos.get(recipient.id),
                parse_mode=broadcast.parse_mode,
                zone=zone,
            ),
            parse_mode=broadcast.parse_mode,
            lease=marker,
        )
        for delivery_id, attempts, recipient in live
    ]


class Recipient(NamedTuple):
    """What a send needs of a customer: read as plain columns, not ORM objects (hot path)."""

    id: int
    telegram_id: int
    first_name: str | None
    last_name: str | None
    status: CustomerStatus


_RECIPIENT_COLUMNS = (
    Customer.id,
    Customer.telegram_id,
    Customer.first_name,
    Customer.last_name,
    Customer.status,
)


def _reachable(customer: Recipient) -> bool:
    return customer.status is CustomerStatus.ACTIVE


async def _settle_unreachable(session: AsyncSession, delivery_id: int, customer: Recipient) -> None:
    if customer.status is CustomerStatus.BLOCKED:
        await _finish_row(
            session, delivery_id, DeliveryStatus.BLOCKED, "customer had blocked the bot"
        )
    else:
        reason = f"customer became {customer.status.value} before sending"
        await _finish_row(session, delivery_id, DeliveryStatus.FAILED, reason)


async def _promos(
    session: AsyncSession, broadcast: Broadcast, customer_ids: Sequence[int], *, now: datetime
) -> dict[int, Discount]:
    """Each recipient's promo discount for this broadcast, issued on first claim only."""
    if broadcast.promo_percent is None or not customer_ids:
        return {}
    once_key = promo_once_key(broadcast.id)
    found = {
        discount.customer_id: discount
        for discount in await session.scalars(
            select(Discount).where(
                Discount.customer_id.in_(customer_ids),
                Discount.once_key == once_key,
            )
        )
    }
    request = discounts.IssueRequest(
        DiscountKind.PROMO,
        percent=broadcast.promo_percent,
        once_key=once_key,
        broadcast_id=broadcast.id,
    )
    for customer_id in customer_ids:
        if customer_id in found:
            continue
        try:
            found[customer_id] = await discounts.issue(
                session, customer_id, request, actor=ENGINE_ACTOR, now=now
            )
        except AlreadyIssued:  # issued in parallel by another worker: use theirs
            again = await session.scalar(
                select(Discount).where(
                    Discount.customer_id == customer_id, Discount.once_key == once_key
                )
            )
            assert again is not None
            found[customer_id] = again
    return found


def promo_once_key(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}"


# --- The write-ahead mark ---------------------------------------------------------------------


async def start_sending(
    session: AsyncSession, claims: Sequence[Claim], *, leases: Mapping[str, str] | None = None
) -> set[int]:
    """Mark claimed rows as being sent; returns the ids that are (still) this worker's.

    Commit before the requests go out. A row whose lease ran out and went to
    another run keeps that run's marker and is left out: do not send it.
    `leases` maps a claim's lease to what `renew_leases` made of it.
    """
    started: set[int] = set()
    by_lease: dict[str, list[int]] = {}
    for claim in claims:
        current = leases.get(claim.lease, claim.lease) if leases else claim.lease
        by_lease.setdefault(current, []).append(claim.delivery_id)
    for lease, ids in by_lease.items():
        mark = _started(lease)
        result = await session.execute(
            update(_D)
            .where(_D.id.in_(ids), _D.status == DeliveryStatus.PENDING, _D.last_error == lease)
            .values(last_error=mark)
            .execution_options(synchronize_session=False)
        )
        if _rowcount(result) == len(ids):
            started.update(ids)
        else:  # rare: some leases were lost; read back which rows carry our mark
            started.update(
                await session.scalars(select(_D.id).where(_D.id.in_(ids), _D.last_error == mark))
            )
    return started


async def unstart_one(session: AsyncSession, delivery_id: int, *, lease: str) -> bool:
    """Telegram certainly refused the request (429, 5xx): back to claimed until the retry.

    Run in the same order as `start_sending` for one claim (`update_marks`, from
    one writer), or a late unstart could hide a started row.
    """
    result = await session.execute(
        update(_D)
        .where(
            _D.id == delivery_id,
            _D.status == DeliveryStatus.PENDING,
            _D.last_error == _started(lease),
        )
        .values(last_error=lease)
        .execution_options(synchronize_session=False)
    )
    return _changed(result)


def renewed(lease: str, deadline: datetime) -> str:
    """The same holder's lease with a later deadline (see `renew_leases`)."""
    holder = lease.split(" by ", 1)[1]
    return f"{CLAIMED}{deadline.astimezone(UTC).strftime(_DEADLINE_FORMAT)} by {holder}"


@dataclass(frozen=True)
class Renewal:
    """Rows `ids` held under lease `old` move to lease `new` (made by `renewed`)."""

    old: str
    new: str
    ids: Sequence[int]


async def renew_leases(session: AsyncSession, renewals: Sequence[Renewal]) -> None:
    """Move held rows from each old lease to its new one (claimed and started alike).

    A live run renews its leases well before they end, so a lease can be short
    (a dead worker's rows come back soon) however long a delivery waits.
    """
    for renewal in renewals:
        for before, after in (
            (renewal.old, renewal.new),
            (_started(renewal.old), _started(renewal.new)),
        ):
            await session.execute(
                update(_D)
                .where(
                    _D.id.in_(renewal.ids),
                    _D.status == DeliveryStatus.PENDING,
                    _D.last_error == before,
                )
                .values(last_error=after)
                .execution_options(synchronize_session=False)
            )


async def update_marks(
    session: AsyncSession,
    *,
    renew: Sequence[Renewal],
    unstart: Sequence[Claim],
    start: Sequence[Claim],
    leases: Mapping[str, str],
    sent: Sequence[Outcome] = (),
    now: datetime | None = None,
) -> set[int]:
    """`renew_leases`, `mark_sent`, the unstarts, then `start_sending`: one transaction.

    `leases` maps each claim's lease to its current marker, renewals included;
    `sent` are messages Telegram accepted, recorded at `now`.
    """
    await renew_leases(session, renew)
    if sent:
        if now is None:
            raise ValueError("recording sent messages needs `now`")
        await record_outcomes(session, sent, now=now)
    for claim in unstart:
        await unstart_one(session, claim.delivery_id, lease=leases.get(claim.lease, claim.lease))
    return await start_sending(session, start, leases=leases) if start else set()


# --- Recording results --------------------------------------------------------------------


def _clip(text: str) -> str:
    return text if len(text) <= _ERROR_LENGTH else text[: _ERROR_LENGTH - 1] + "…"


def _rowcount(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def _changed(result: Any) -> bool:
    return _rowcount(result) > 0


async def _finish_row(
    session: AsyncSession,
    delivery_id: int,
    status: DeliveryStatus,
    reason: str | None,
    *,
    lease: str | None = None,
) -> bool:
    query = update(_D).where(_D.id == delivery_id, _D.status == DeliveryStatus.PENDING)
    if lease is not None:
        query = query.where(_D.last_error == lease)
    result = await session.execute(
        query.values(status=status, last_error=_clip(reason) if reason else None).execution_options(
            synchronize_session=False
        )
    )
    return _changed(result)


async def mark_sent(session: AsyncSession, message_ids: Mapping[int, int], *, now: datetime) -> int:
    """Telegram accepted these messages (delivery id → message id), in one UPDATE.

    Also upgrades an ambiguous row: it was sent after all. Returns rows changed.
    """
    if not message_ids:
        return 0
    result = await session.execute(
        update(_D)
        .where(
            _D.id.in_(list(message_ids)),
            or_(_D.status == DeliveryStatus.PENDING, _AMBIGUOUS_ROW),
        )
        .values(
            status=DeliveryStatus.SENT,
            telegram_message_id=case(message_ids, value=_D.id),
            sent_at=now,
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


async def mark_blocked(
    session: AsyncSession,
    delivery_id: int,
    *,
    now: datetime,
    reason: str = "bot was blocked by the user",
) -> bool:
    """Telegram said 403: the delivery is blocked and so is the customer."""
    customer_id = await session.scalar(select(_D.customer_id).where(_D.id == delivery_id))
    if customer_id is None or not await _finish_row(
        session, delivery_id, DeliveryStatus.BLOCKED, reason
    ):
        return False
    await customers.mark_blocked(session, customer_id, now=now)
    return True


async def mark_failed(session: AsyncSession, delivery_id: int, *, reason: str) -> bool:
    """Telegram refused for good ("chat not found", retries used up, ...)."""
    return await _finish_row(session, delivery_id, DeliveryStatus.FAILED, reason)


async def mark_ambiguous(session: AsyncSession, delivery_id: int, *, reason: str) -> bool:
    """The outcome is unknown: failed, never retried, counted by `count_ambiguous`."""
    return await _finish_row(session, delivery_id, DeliveryStatus.FAILED, AMBIGUOUS + reason)


async def release_for_retry(
    session: AsyncSession, delivery_id: int, *, reason: str, lease: str | None = None
) -> bool:
    """Nothing was sent: drop the lease so the row is pending for any worker again.

    With `lease`, only if this worker still holds it (a row whose lease expired
    was already settled as ambiguous and stays so).
    """
    query = update(_D).where(_D.id == delivery_id, _D.status == DeliveryStatus.PENDING)
    query = query.where(_D.last_error == lease) if lease is not None else query
    result = await session.execute(
        query.values(last_error=_clip(RELEASED + reason)).execution_options(
            synchronize_session=False
        )
    )
    return _changed(result)


async def record_outcomes(
    session: AsyncSession, outcomes: Sequence[Outcome], *, now: datetime
) -> None:
    """Record a batch of results in the caller's transaction (all sends in one UPDATE)."""
    sent = {
        o.delivery_id: o.message_id
        for o in outcomes
        if o.kind == "sent" and o.message_id is not None
    }
    await mark_sent(session, sent, now=now)
    for outcome in outcomes:
        reason = outcome.reason or ""
        if outcome.kind == "sent":
            continue
        if outcome.kind == "blocked":
            await mark_blocked(session, outcome.delivery_id, now=now, reason=reason or "blocked")
        elif outcome.kind == "failed":
            await mark_failed(session, outcome.delivery_id, reason=reason)
        elif outcome.kind == "ambiguous":
            await mark_ambiguous(session, outcome.delivery_id, reason=reason)
        else:
            await release_for_retry(session, outcome.delivery_id, reason=reason)


@dataclass(frozen=True)
class Expired:
    """What `expire_leases` did with the rows of workers that went away."""

    released: int  # only claimed: certainly unsent, pending again
    ambiguous: int  # started: maybe sent, never resent


async def expire_leases(session: AsyncSession, broadcast_id: int, *, now: datetime) -> Expired:
    """Settle rows whose lease ran out (their worker died): see the protocol above.

    Held rows are few (what workers are sending right now), so their markers
    are read and compared in Python; each UPDATE is conditional on the marker
    so a result recorded meanwhile wins.
    """
    held = (
        await session.execute(
            select(_D.id, _D.last_error).where(
                _D.broadcast_id == broadcast_id, _D.status == DeliveryStatus.PENDING, _HELD
            )
        )
    ).all()
    released = ambiguous = 0
    for delivery_id, marker in held:
        deadline = lease_deadline(marker)
        if marker is None or deadline is None or deadline > now:
            continue
        if marker.startswith(CLAIMED):
            released += await release_for_retry(
                session, delivery_id, reason=WORKER_LOST_BEFORE, lease=marker
            )
        else:
            ambiguous += await _finish_row(
                session, delivery_id, DeliveryStatus.FAILED, AMBIGUOUS + WORKER_LOST, lease=marker
            )
    return Expired(released=released, ambiguous=ambiguous)


async def count_ambiguous(session: AsyncSession, broadcast_id: int) -> int:
    count = await session.scalar(
        select(func.count(_D.id)).where(_D.broadcast_id == broadcast_id, _AMBIGUOUS_ROW)
    )
    return count or 0


async def finish_if_done(
    session: AsyncSession, broadcast_id: int, *, now: datetime
) -> BroadcastStatus | None:
    """End a "sending" broadcast with no pending rows: its final status for the one caller that did.

    "failed" when it has rows and none was sent, "completed" otherwise (see
    the protocol above); None when it is not done, or someone else ended it.
    """
    rows = _D.broadcast_id == broadcast_id
    pending = exists().where(rows, _D.status == DeliveryStatus.PENDING)
    delivered = exists().where(rows, _D.status == DeliveryStatus.SENT)
    done = (Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.SENDING, ~pending)
    for final, condition in (
        (BroadcastStatus.FAILED, [exists().where(rows), ~delivered]),
        (BroadcastStatus.COMPLETED, []),
    ):
        result = await session.execute(
            update(Broadcast)
            .where(*done, *condition)
            .values(status=final, finished_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if _changed(result):
            await audit.record(
                session,
                ENGINE_ACTOR,
                "broadcast.complete" if final is BroadcastStatus.COMPLETED else "broadcast.fail",
                "broadcast",
                broadcast_id,
                before={"status": BroadcastStatus.SENDING},
                after={"status": final, "finished_at": now},
            )
            return final
    return None


# --- Rendering ----------------------------------------------------------------------------


def render_for(
    template_text: str,
    customer: Recipient,
    discount: Discount | None,
    *,
    parse_mode: ParseMode = ParseMode.PLAIN,
    zone: tzinfo = UTC,
) -> str:
    """The broadcast text for one customer; values are escaped for the parse mode.

    Promo placeholders stay visible as {code} etc. when there is no discount
    (the broadcast checks refuse such texts up front; this never crashes a send).
    """
    values: dict[str, str] = {
        "first_name": customer.first_name or "",
        "last_name": customer.last_name or "",
    }
    if discount is not None:
        values["code"] = discount.code
        values["percent"] = str(discount.percent)
        values["expires_on"] = last_valid_day(discount.expires_at, zone).strftime("%d.%m.%Y")
    return templates.fill_escaped(template_text, values, parse_mode)
