"""The restore drill, as docs/operations.md tells an operator to run it: back up, wipe, restore.

A shop with customers, codes (one redeemed at a till) and a broadcast stopped
half-way is backed up with `dvorik backup` while nothing else runs, its
database destroyed, made anew with `dvorik migrate` and filled with `dvorik
restore`. Afterwards every row reads back the same, the till answers the
same for every code, and the broadcast carries on where it stopped: every
recipient ends with exactly one message, the ones sent before the backup
not again, with the code they were given.

The drill backs up and wipes with no send in between. Messages a live shop
sends after its backup are not in it, and would go out again once that
backup is restored (docs/operations.md says what to check before resuming).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import broadcasts, deliveries, discounts, segments, shop_settings
from backend.domain.audit import Actor
from backend.domain.broadcasts.progress import RUN_SILENCE
from backend.domain.clock import utcnow
from backend.domain.errors import CodeAlreadyRedeemed
from backend.domain.models import (
    BroadcastDelivery,
    BroadcastStatus,
    Customer,
    DeliveryStatus,
    Discount,
)
from backend.fake_telegram import FakeTelegram, create_app
from backend.pubsub import InProcessPubSub
from backend.telegram.bot_api import BotApi
from backend.workers.sending import BroadcastOutcome, InMemorySendRateLimiter, process_broadcast
from backend.workers.tasks.broadcasts import ORPHAN_GRACE
from tests.api import serve_app
from tests.backups import (
    Engines,
    ShopDatabase,
    engines,
    everything,
    open_shop_database,
    shop,
)
from tests.conftest import DATABASES
from tests.databases import drop_server_database
from tests.factories import make_admin, make_cashier, make_customer, make_discount
from tests.ledger import count_deliveries
from tests.telegram_world import CUSTOMER_TOKEN

__all__ = ["engines", "shop"]  # fixtures

Sessions = async_sessionmaker[AsyncSession]
ACTOR = Actor.system("drill")
AUDIENCE = 30
TEXT = "Новинки для {first_name}: код {code}"


@pytest.fixture
async def telegram() -> AsyncIterator[tuple[FakeTelegram, BotApi]]:
    fake = FakeTelegram()
    async with serve_app(create_app(fake)) as url:
        bot = BotApi(CUSTOMER_TOKEN, url)
        yield fake, bot
        await bot.close()


async def open_a_shop(sessions: Sessions) -> tuple[str, str]:
    """Staff, customers, a changed setting, an active code and one redeemed at the till."""
    async with sessions() as session, session.begin():
        await make_admin(session, email="owner@dvorik.test")
        cashier = await make_cashier(session)
        anna = await make_customer(session, tags=["vip"], phone="+79991234567")
        boris = await make_customer(session, first_name="Борис")
        active = await make_discount(session, anna)
        used = await make_discount(session, boris)
        await shop_settings.set_value(session, "discount_percent_promo", 20, ACTOR)
    async with sessions() as session, session.begin():
        await discounts.redeem(
            session, used.code, cashier, now=utcnow(), purchase_amount=Decimal("1250.50")
        )
    return active.code, used.code


async def start_a_broadcast(sessions: Sessions) -> int:
    async with sessions() as session, session.begin():
        for number in range(AUDIENCE):
            await make_customer(session, first_name=f"Гость{number}", tags=["sweet"])
        segment = await segments.create(session, "Сладкоежки", {"tags_any": ["sweet"]}, actor=ACTOR)
        broadcast = await broadcasts.create(
            session,
            title="Новинки",
            text=TEXT,
            segment_id=segment.id,
            promo_percent=15,
            actor=ACTOR,
        )
        await broadcasts.send_now(session, broadcast.id, actor=ACTOR, now=utcnow())
    return broadcast.id


async def send(
    sessions: Sessions, bot: BotApi, broadcast_id: int, *, stop: asyncio.Event | None = None
) -> BroadcastOutcome:
    return await process_broadcast(
        sessions,
        bot,
        InProcessPubSub(),
        InMemorySendRateLimiter(10),  # 3 s for the whole audience: time to stop it half-way
        broadcast_id,
        worker_id="drill",
        stop=stop,
    )


async def send_half(sessions: Sessions, fake: FakeTelegram, bot: BotApi, broadcast_id: int) -> None:
    """The engine stopped as a stopping worker stops it, about a third of the way through."""
    stop = asyncio.Event()
    running = asyncio.create_task(send(sessions, bot, broadcast_id, stop=stop))
    deadline = time.monotonic() + 30
    while fake.sent_count < AUDIENCE // 3:
        assert time.monotonic() < deadline, f"only {fake.sent_count} sent in 30 s"
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(running, 30)


def messages_per_recipient(fake: FakeTelegram, chats: list[int]) -> Counter[int]:
    return Counter(
        len([m for m in fake.messages_to(chat, token=CUSTOMER_TOKEN) if m.method == "sendMessage"])
        for chat in chats
    )


async def promo_codes(sessions: Sessions, broadcast_id: int) -> dict[int, str]:
    """Telegram chat → the code the broadcast gave that customer."""
    async with sessions() as session:
        found = await session.execute(
            select(Customer.telegram_id, Discount.code)
            .join(Discount, Discount.customer_id == Customer.id)
            .where(Discount.once_key == deliveries.promo_once_key(broadcast_id))
        )
        return {chat: code for chat, code in found}


async def test_drill_back_up_wipe_restore_and_the_shop_carries_on(
    shop: ShopDatabase, engines: Engines, telegram: tuple[FakeTelegram, BotApi], tmp_path: Path
) -> None:
    fake, bot = telegram
    sessions = engines.sessions(shop)
    active_code, used_code = await open_a_shop(sessions)
    broadcast_id = await start_a_broadcast(sessions)
    await send_half(sessions, fake, bot, broadcast_id)
    sent_before = await count_deliveries(
        sessions, broadcast_id, BroadcastDelivery.status == DeliveryStatus.SENT
    )
    assert 0 < sent_before < AUDIENCE
    codes_sent_before = {
        chat: code
        for chat, code in (await promo_codes(sessions, broadcast_id)).items()
        if fake.messages_to(chat, token=CUSTOMER_TOKEN)
    }
    before = await everything(sessions)
    await engines.close()

    backup = tmp_path / "shop.dvorik-backup.gz"
    taken = shop.dvorik("backup", str(backup))
    assert taken.returncode == 0, taken.stderr
    assert taken.stdout.startswith(
        f"Backup of {sum(map(len, before.values()))} rows in {len(before)} tables"
    )
    await shop.wipe()
    migrated = shop.dvorik("migrate")
    assert migrated.returncode == 0, migrated.stderr
    restored = shop.dvorik("restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.startswith("Restored ")

    sessions = engines.sessions(shop)
    assert await everything(sessions) == before
    await the_till_answers_the_same(sessions, active_code, used_code)
    await the_broadcast_carries_on(sessions, fake, bot, broadcast_id, codes_sent_before)


async def the_till_answers_the_same(sessions: Sessions, active_code: str, used_code: str) -> None:
    async with sessions() as session:
        offer = await discounts.look_up_offer(session, active_code.lower(), now=utcnow())
        assert offer.customer is not None and offer.customer.phone == "+79991234567"
        with pytest.raises(CodeAlreadyRedeemed):
            await discounts.look_up_offer(session, used_code, now=utcnow())
        redeemed = await discounts.find_by_code(session, used_code)
        assert redeemed.purchase_amount == Decimal("1250.50")
        assert await shop_settings.get(session, "discount_percent_promo") == 20


async def the_broadcast_carries_on(
    sessions: Sessions,
    fake: FakeTelegram,
    bot: BotApi,
    broadcast_id: int,
    codes_sent_before: dict[int, str],
) -> None:
    # The workers' sweep will take it up: "sending", and no run has been heard of lately.
    later = utcnow() + RUN_SILENCE + timedelta(seconds=1)
    async with sessions() as session:
        orphans = await broadcasts.orphaned(session, now=later, grace=ORPHAN_GRACE)
    assert [orphan.broadcast_id for orphan in orphans] == [broadcast_id]

    outcome = await send(sessions, bot, broadcast_id)
    assert outcome.completed and outcome.status is BroadcastStatus.COMPLETED
    assert outcome.sent + len(codes_sent_before) == AUDIENCE

    codes = await promo_codes(sessions, broadcast_id)
    assert messages_per_recipient(fake, list(codes)) == Counter({1: AUDIENCE})
    for chat, code in codes.items():
        [message] = fake.messages_to(chat, token=CUSTOMER_TOKEN)
        assert message.text is not None and message.text.endswith(f"код {code}")
    assert {chat: codes[chat] for chat in codes_sent_before} == codes_sent_before


@pytest.mark.parametrize("server", [database for database in DATABASES if database != "sqlite"])
async def test_an_embedded_shop_moves_to_a_database_server_through_a_pipe(
    engines: Engines, tmp_path: Path, server: str
) -> None:
    """`dvorik backup -` on SQLite piped into `dvorik restore -` on MariaDB or PostgreSQL:
    the same shop."""
    embedded = await open_shop_database("sqlite", tmp_path, "embedded")
    await embedded.migrate()
    production = await open_shop_database(server, tmp_path, "dvorik_moved")
    try:
        await production.migrate()
        sessions = engines.sessions(embedded)
        await open_a_shop(sessions)
        await start_a_broadcast(sessions)
        before = await everything(sessions)

        taken = embedded.dvorik_piped("backup", "-")
        assert taken.returncode == 0, taken.stderr
        assert taken.stderr.decode().startswith("Backup of ")  # the summary keeps off the pipe
        restored = production.dvorik_piped("restore", "-", stdin=taken.stdout)
        assert restored.returncode == 0, restored.stderr
        assert await everything(engines.sessions(production)) == before
    finally:
        await engines.close()
        await drop_server_database(server, production.name)
