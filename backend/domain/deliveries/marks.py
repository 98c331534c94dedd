"""The write-ahead mark: a held row is marked started just before its request goes out.

Started rows are the only ones in doubt when a worker dies (their request may
have reached Telegram), so the mark is set as late as possible, turned back
(`unstart_one`) as soon as Telegram certainly refused, and the leases of a
live run are renewed (`renew_leases`) so they can stay short. The engine's
one writer sends all of a moment's marks in one transaction (`update_marks`),
in the order they were asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.deliveries.claiming import Claim
from backend.domain.deliveries.markers import started
from backend.domain.deliveries.outcomes import Outcome, changed, record_outcomes, rowcount
from backend.domain.models import BroadcastDelivery, DeliveryStatus

_D = BroadcastDelivery


async def start_sending(
    session: AsyncSession, claims: Sequence[Claim], *, leases: Mapping[str, str] | None = None
) -> set[int]:
    """Mark claimed rows as being sent; returns the ids that are (still) this worker's.

    Commit before the requests go out. A row whose lease ran out and went to
    another run keeps that run's marker and is left out: do not send it.
    `leases` maps a claim's lease to what `renew_leases` made of it.
    """
    marked: set[int] = set()
    by_lease: dict[str, list[int]] = {}
    for claim in claims:
        current = leases.get(claim.lease, claim.lease) if leases else claim.lease
        by_lease.setdefault(current, []).append(claim.delivery_id)
    for lease, ids in by_lease.items():
        mark = started(lease)
        result = await session.execute(
            update(_D)
            .where(_D.id.in_(ids), _D.status == DeliveryStatus.PENDING, _D.last_error == lease)
            .values(last_error=mark)
            .execution_options(synchronize_session=False)
        )
        if rowcount(result) == len(ids):
            marked.update(ids)
        else:  # rare: some leases were lost; read back which rows carry our mark
            marked.update(
                await session.scalars(select(_D.id).where(_D.id.in_(ids), _D.last_error == mark))
            )
    return marked


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
            _D.last_error == started(lease),
        )
        .values(last_error=lease)
        .execution_options(synchronize_session=False)
    )
    return changed(result)


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
            (started(renewal.old), started(renewal.new)),
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
