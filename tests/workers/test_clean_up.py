"""The hourly clean-up bounds every table that grows with traffic, and keeps business records.

Each table is filled through the code that writes it in production (a webhook's
update claim, a login link, a sign-in, a bulk job), with rows older and newer
than their retention; the clean-up then runs as the schedule runs it, a
`forget_old_records` task through a broker, on SQLite and MariaDB.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from taskiq import AsyncBroker

from backend.domain import admins, audit, jobs, sign_in, telegram_updates
from backend.domain.audit import Actor
from backend.domain.database import run_in_transaction
from backend.domain.models import (
    Admin,
    AdminLoginToken,
    AuditEntry,
    Base,
    Broadcast,
    BroadcastDelivery,
    BroadcastStatus,
    BulkJob,
    DeliveryStatus,
    Discount,
    LoginAttempt,
    RevokedToken,
    TelegramUpdate,
)
from backend.domain.models.jobs import JobState
from backend.domain.models.staff import LoginOutcome
from backend.runtime import Runtime
from backend.workers.schedule import SCHEDULE
from tests.api import settings_for
from tests.factories import make_admin, make_customer, make_discount
from tests.task_queues import broker_with_tasks

NOON = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # noon in Vladivostok


async def clean_up(broker: AsyncBroker, now: datetime) -> dict[str, int]:
    """The scheduled task, sent through `broker`; what it dropped, by kind."""
    assert "forget_old_records" in {slot.task for slot in SCHEDULE}
    task = broker.find_task("forget_old_records")
    assert task is not None
    sent = await task.kiq(now=now.isoformat())
    result = await sent.wait_result(timeout=60)
    assert not result.is_err, result.error
    counts: dict[str, int] = result.return_value
    return counts


async def count(sessions: async_sessionmaker[AsyncSession], model: type[Base]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def seen(
    sessions: async_sessionmaker[AsyncSession], bot: str, update_id: int, at: datetime
) -> None:
    """A webhook's update claim, as `bots.update_claims` takes it."""
    await run_in_transaction(
        sessions, lambda session: telegram_updates.first_time(session, bot, update_id, now=at)
    )


async def test_update_ids_are_kept_past_telegram_s_redelivery_window_then_dropped(
    broker: AsyncBroker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for update_id, age in ((1, timedelta(hours=49)), (2, timedelta(hours=47)), (3, timedelta(0))):
        await seen(sessions, "customer", update_id, NOON - age)
    await seen(sessions, "cashier", 1, NOON - timedelta(days=30))

    dropped = await clean_up(broker, NOON)

    assert dropped["telegram_updates"] == 2
    async with sessions() as session:
        kept = (await session.execute(select(TelegramUpdate.bot, TelegramUpdate.update_id))).all()
    assert sorted(kept) == [("customer", 2), ("customer", 3)]
    # Telegram delivering update 2 again (it does for up to a day) is still recognised.
    async with sessions() as session, session.begin():
        assert not await telegram_updates.first_time(session, "customer", 2, now=NOON)


async def test_the_update_id_retention_follows_its_setting(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    runtime = Runtime.start(settings_for(engine, telegram_updates_keep_hours=25))
    try:
        for update_id, age in ((1, timedelta(hours=26)), (2, timedelta(hours=24))):
            await seen(sessions, "customer", update_id, NOON - age)
        in_memory = broker_with_tasks()
        in_memory.state.runtime = runtime
        await in_memory.startup()
        try:
            dropped = await clean_up(in_memory, NOON)
        finally:
            await in_memory.shutdown()
    finally:
        await runtime.stop()
    assert dropped["telegram_updates"] == 1
    async with sessions() as session:
        assert list(await session.scalars(select(TelegramUpdate.update_id))) == [2]


async def test_a_backlog_of_update_ids_goes_in_batches_within_one_run(
    broker: AsyncBroker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """More old ids than one batch (a busy week with no clean-up): one run drops them all."""
    old = NOON - timedelta(days=7)
    rows = [
        {"bot": "customer", "update_id": n, "received_at": old}
        for n in range(telegram_updates.FORGET_BATCH * 2 + 5)
    ]
    async with sessions() as session, session.begin():
        await session.execute(insert(TelegramUpdate), rows)
    await seen(sessions, "customer", 10**9, NOON)

    dropped = await clean_up(broker, NOON)

    assert dropped["telegram_updates"] == len(rows)
    assert await count(sessions, TelegramUpdate) == 1


async def test_expired_login_links_go_and_live_ones_still_work(
    broker: AsyncBroker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        owner = await make_admin(session, email="owner@dvorik.test")
        await admins.issue_login_token(session, owner.id, now=NOON - timedelta(days=3))
        used = await admins.issue_login_token(session, owner.id, now=NOON - timedelta(hours=1))
        await admins.consume_login_token(session, used, now=NOON - timedelta(minutes=59))
        live = await admins.issue_login_token(session, owner.id, now=NOON - timedelta(minutes=2))

    dropped = await clean_up(broker, NOON)

    assert dropped["login_links"] == 2
    assert await count(sessions, AdminLoginToken) == 1
    async with sessions() as session, session.begin():
        assert (await admins.consume_login_token(session, live, now=NOON)).id == owner.id


async def test_sign_in_attempts_and_revocations_go_once_expired(
    broker: AsyncBroker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        for age in (sign_in.WINDOW + timedelta(minutes=1), timedelta(minutes=5)):
            session.add(
                LoginAttempt(
                    email="a@example.com",
                    ip="10.0.0.1",
                    net="10.0.0.0/24",
                    at=NOON - age,
                    outcome=LoginOutcome.FAILED,
                )
            )
        await sign_in.revoke(session, "gone", expires_at=NOON - timedelta(seconds=1))
        await sign_in.revoke(session, "still-valid", expires_at=NOON + timedelta(hours=1))

    dropped = await clean_up(broker, NOON)

    assert dropped["sign_in"] == 2
    async with sessions() as session:
        assert list(await session.scalars(select(LoginAttempt.at))) == [NOON - timedelta(minutes=5)]
        assert list(await session.scalars(select(RevokedToken.jti))) == ["still-valid"]


async def finished_job(
    sessions: async_sessionmaker[AsyncSession], *, created: datetime, state: JobState
) -> str:
    """A bulk job as `jobs.create` writes it, finished (or not) as its run leaves it."""

    async def work(session: AsyncSession) -> str:
        job = await jobs.create(session, "tags", 10, admin_id=None, now=created)
        job.state = state
        if state in jobs.TERMINAL:
            job.done = 10
            job.finished_at = created + timedelta(minutes=1)
        return job.key

    return await run_in_transaction(sessions, work)


async def test_finished_bulk_jobs_go_after_their_retention_and_unfinished_ones_stay(
    broker: AsyncBroker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    month = timedelta(days=31)
    await finished_job(sessions, created=NOON - month, state=JobState.COMPLETED)
    await finished_job(sessions, created=NOON - month, state=JobState.FAILED)
    recent = await finished_job(sessions, created=NOON - timedelta(days=29), state=JobState.FAILED)
    stuck = await finished_job(sessions, created=NOON - month, state=JobState.RUNNING)
    queued = await finished_job(sessions, created=NOON - month, state=JobState.QUEUED)

    dropped = await clean_up(broker, NOON)

    assert dropped["bulk_jobs"] == 2
    async with sessions() as session:
        assert set(await session.scalars(select(BulkJob.key))) == {recent, stuck, queued}


async def test_business_records_are_kept_however_old(
    broker: AsyncBroker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Deliveries, discounts and audit entries are the shop's records: never cleaned up."""
    long_ago = NOON - timedelta(days=800)
    async with sessions() as session, session.begin():
        customer = await make_customer(session)
        await make_discount(session, customer, issued_at=long_ago, valid_days=1)
        broadcast = Broadcast(
            title="Давно", text="Привет", status=BroadcastStatus.COMPLETED, finished_at=long_ago
        )
        session.add(broadcast)
        await session.flush()
        session.add(
            BroadcastDelivery(
                broadcast_id=broadcast.id,
                customer_id=customer.id,
                status=DeliveryStatus.SENT,
                sent_at=long_ago,
            )
        )
        entry = await audit.record(
            session, Actor.system("test"), "broadcast.complete", "broadcast", broadcast.id
        )
        entry.at = long_ago
    before = {m: await count(sessions, m) for m in (BroadcastDelivery, Discount, AuditEntry)}

    await clean_up(broker, NOON)

    assert {m: await count(sessions, m) for m in before} == before
    assert set(before.values()) == {1}


async def hour_of_traffic(session: AsyncSession, *, at: datetime, hour: int) -> None:
    """One hour of a busy shop: update ids, sign-ins, a sign-out, a login link, a bulk job."""
    for n in range(5):
        await telegram_updates.first_time(session, "customer", hour * 100 + n, now=at)
    for n in range(3):
        session.add(
            LoginAttempt(
                email="a@example.com",
                ip=f"10.0.0.{n}",
                net="10.0.0.0/24",
                at=at,
                outcome=LoginOutcome.SUCCEEDED,
            )
        )
    await sign_in.revoke(session, f"jti-{hour}", expires_at=at + timedelta(hours=12))
    owner = await session.scalar(select(Admin.id).limit(1))
    assert owner is not None
    await admins.issue_login_token(session, owner, now=at)
    job = await jobs.create(session, "tags", 1, admin_id=None, now=at)
    job.state, job.done, job.finished_at = JobState.COMPLETED, 1, at


async def test_steady_traffic_levels_off_at_what_the_retentions_allow(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """40 hours of traffic, the clean-up hourly: no table grows past its retention's worth."""
    runtime = Runtime.start(
        settings_for(engine, telegram_updates_keep_hours=25, bulk_jobs_keep_days=1)
    )
    in_memory = broker_with_tasks()
    in_memory.state.runtime = runtime
    await in_memory.startup()
    start = NOON - timedelta(hours=40)
    async with sessions() as session, session.begin():
        await make_admin(session, email="owner@dvorik.test")
    # At most: the retention's hours of rows, plus the hour since the last clean-up.
    bounds = {
        TelegramUpdate: 5 * (25 + 1),
        LoginAttempt: 3,  # a 15 minutes' window: only the last hour's survive
        RevokedToken: 12 + 1,
        AdminLoginToken: 1,  # 10 minutes' life
        BulkJob: 24 + 1,
    }
    try:
        for hour in range(40):
            at = start + timedelta(hours=hour)
            await run_in_transaction(sessions, partial(hour_of_traffic, at=at, hour=hour))
            await clean_up(in_memory, at + timedelta(minutes=5))
            sizes = {model: await count(sessions, model) for model in bounds}
            assert all(sizes[model] <= bounds[model] for model in bounds), (hour, sizes)
    finally:
        await in_memory.shutdown()
        await runtime.stop()
    # Levelled off at the bound (not merely below it because nothing was written).
    assert sizes == {
        TelegramUpdate: 5 * 25,
        LoginAttempt: 3,
        RevokedToken: 12,
        AdminLoginToken: 1,
        BulkJob: 24,
    }
