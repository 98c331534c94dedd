"""A cashier presses "confirm": what one redemption costs, and what everyone is told.

Fifty tills redeem at once, so the press must stay cheap: the database work
and the Bot API calls it waits for are counted here, and a change that adds
a round trip to the hot path fails a budget instead of slowing the benchmark.
What the till and the customer are told, also when Telegram fails them, is
checked beside it: the redemption never depends on a message getting through.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain import cashiers
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.models import AuditEntry, Discount, DiscountStatus
from backend.fake_telegram import Delivery, FakeUser, SentMessage
from tests.telegram_world import CASHIER_TOKEN, CUSTOMER_TOKEN, Telegram, telegram, telegram_world
from tests.timing import until

__all__ = ["telegram", "telegram_world"]
_ids = itertools.count(5_600_001)


def someone(first_name: str) -> FakeUser:
    return FakeUser(id=next(_ids), first_name=first_name, last_name="Ли", username=None)


async def subscribed(telegram: Telegram, first_name: str) -> tuple[FakeUser, str]:
    user = someone(first_name)
    await telegram.fake.send_text(CUSTOMER_TOKEN, user, "/start")
    line = telegram.texts_to(user, CUSTOMER_TOKEN)[-1]
    code = next(w.strip(".,") for w in line.split() if len(w.strip(".,")) == 8 and w.isupper())
    return user, code


async def hired(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession], name: str
) -> FakeUser:
    async with sessions() as session, session.begin():
        _, invite = await cashiers.invite(
            session, name, "Алеутская, 17", actor=Actor.system(), now=utcnow()
        )
    person = someone(name)
    await telegram.fake.send_text(CASHIER_TOKEN, person, f"/start {invite}")
    return person


async def offered(telegram: Telegram, cashier: FakeUser, typed: str) -> SentMessage:
    """The cashier types a code; the bot's answer with the "confirm" button."""
    await telegram.fake.send_text(CASHIER_TOKEN, cashier, typed)
    offer = telegram.fake.messages_to(cashier.id, token=CASHIER_TOKEN)[-1]
    assert offer.reply_markup is not None and offer.message_id is not None, offer.text
    return offer


def confirm_data(offer: SentMessage) -> str:
    assert offer.reply_markup is not None
    return str(offer.reply_markup["inline_keyboard"][0][0]["callback_data"])


async def confirm(telegram: Telegram, cashier: FakeUser, offer: SentMessage) -> Delivery:
    """The cashier presses "confirm" under `offer`; how the webhook took the press."""
    assert offer.message_id is not None
    return await telegram.fake.press_button(
        CASHIER_TOKEN, cashier, confirm_data(offer), offer.message_id
    )


class AtTheTill(NamedTuple):
    """A subscribed customer's code typed at Ольга's till, the "confirm" button offered."""

    customer: FakeUser
    code: str
    olga: FakeUser
    offer: SentMessage


async def at_the_till(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession], customer: str, typed: str = ""
) -> AtTheTill:
    """`customer` subscribes, Ольга is hired and types the code (and `typed` after it)."""
    subscriber, code = await subscribed(telegram, customer)
    olga = await hired(telegram, sessions, "Ольга")
    offer = await offered(telegram, olga, f"{code}{typed}")
    return AtTheTill(subscriber, code, olga, offer)


def serving_a_request() -> bool:
    """Whether this runs in uvicorn's task for an HTTP request (here: a webhook post)."""
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return False
    name = getattr(task.get_coro(), "__qualname__", "") if task is not None else ""
    return str(name).endswith(".run_asgi")


@contextmanager
def database_work(engine: AsyncEngine) -> Iterator[Counter[str]]:
    """What `engine` does while the block runs: connections taken, statements, commits.

    Only work done for an HTTP request counts (the in-process scheduler may
    wake up meanwhile). A pooled connection is pinged when taken (a round
    trip), so taking one is counted; SQLite's own BEGIN is not a round trip.
    """
    done: Counter[str] = Counter()

    def on_statement(*args: Any) -> None:
        verb = str(args[2]).split()[0].upper()
        if verb != "BEGIN" and serving_a_request():
            done["statements"] += 1
            done[verb] += 1

    def on_commit(*_: Any) -> None:
        if serving_a_request():
            done["commits"] += 1

    def on_checkout(*_: Any) -> None:
        if serving_a_request():
            done["connections"] += 1

    sync = engine.sync_engine
    hooks = [
        (sync, "before_cursor_execute", on_statement),
        (sync, "commit", on_commit),
        (sync.pool, "checkout", on_checkout),
    ]
    for target, name, hook in hooks:
        event.listen(target, name, hook)
    try:
        yield done
    finally:
        for target, name, hook in hooks:
            event.remove(target, name, hook)


@contextmanager
def nested_checkouts(engine: AsyncEngine) -> Iterator[list[str]]:
    """Connections a task took from `engine`'s pool while it already held one."""
    nested: list[str] = []
    holders: dict[int, asyncio.Task[Any] | None] = {}

    def current() -> asyncio.Task[Any] | None:
        try:
            return asyncio.current_task()
        except RuntimeError:
            return None

    def on_checkout(_: Any, record: Any, __: Any) -> None:
        task = current()
        if task is not None and task in holders.values():
            nested.append(task.get_name())
        holders[id(record)] = task

    def on_checkin(_: Any, record: Any) -> None:
        holders.pop(id(record), None)

    pool = engine.sync_engine.pool
    event.listen(pool, "checkout", on_checkout)
    event.listen(pool, "checkin", on_checkin)
    try:
        yield nested
    finally:
        event.remove(pool, "checkout", on_checkout)
        event.remove(pool, "checkin", on_checkin)


async def redemptions_audited(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "discount.redeem")
        )
    return int(count or 0)


async def status_of(sessions: async_sessionmaker[AsyncSession], code: str) -> DiscountStatus:
    async with sessions() as session:
        discount = await session.scalar(select(Discount).where(Discount.code == code))
    assert discount is not None
    return discount.status


async def test_a_press_is_one_transaction_and_two_messages_sent_together(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer, code, olga, offer = await at_the_till(telegram, sessions, "Лена", typed=" 990")
    calls_before = Counter(telegram.fake.method_counts)

    with database_work(telegram.dvorik.runtime.engine) as work:
        delivery = await confirm(telegram, olga, offer)

    # One transaction: the update's record, the conditional UPDATE (which checks
    # the cashier), the re-read with customer and cashier, the audit line.
    assert work["connections"] == 1, work
    assert work["commits"] == 1, work
    assert work["statements"] <= 4, work
    assert work["UPDATE"] == 1 and work["INSERT"] == 2, work
    # The press is acknowledged in the webhook's answer, not by a call of its own;
    # the bot itself calls the Bot API twice (till and customer), side by side.
    assert delivery["status"] == 200
    assert delivery["body"]["method"] == "answerCallbackQuery"
    assert delivery["reply"] is True and delivery["reply_error"] is None
    calls = Counter(telegram.fake.method_counts) - calls_before
    assert calls == Counter(sendMessage=2, answerCallbackQuery=1)
    assert "погашена" in telegram.texts_to(olga, CASHIER_TOKEN)[-1]
    assert "использована" in telegram.texts_to(customer, CUSTOMER_TOKEN)[-1]
    assert await status_of(sessions, code) is DiscountStatus.REDEEMED
    assert await redemptions_audited(sessions) == 1


async def test_a_look_up_takes_one_connection_besides_the_update_record(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, code = await subscribed(telegram, "Зоя")
    olga = await hired(telegram, sessions, "Ольга")
    with database_work(telegram.dvorik.runtime.engine) as work:
        offer = await offered(telegram, olga, code)
    assert "Зоя" in (offer.text or "")
    assert work["connections"] <= 2, work


async def test_no_request_waits_for_a_second_connection_while_holding_one(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Hold and wait exhausts the pool when fifty tills do it at once, e.g. while the
    texts reload (which takes a connection): every path of the till is checked."""
    _, code = await subscribed(telegram, "Нина")
    olga = await hired(telegram, sessions, "Ольга")
    ivan = await hired(telegram, sessions, "Иван")
    texts = telegram.dvorik.runtime.texts

    with nested_checkouts(telegram.dvorik.runtime.engine) as nested:
        texts.invalidate()
        offer = await offered(telegram, olga, code)
        texts.invalidate()
        other = await offered(telegram, ivan, code)
        texts.invalidate()
        await confirm(telegram, olga, offer)
        texts.invalidate()
        await confirm(telegram, ivan, other)
        texts.invalidate()
        await telegram.fake.send_text(CASHIER_TOKEN, ivan, code)

    assert "уже использован" in telegram.texts_to(ivan, CASHIER_TOKEN)[-1]
    assert nested == [], nested


async def test_a_lost_answer_loses_no_redemption_and_a_second_press_explains(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer, code, olga, offer = await at_the_till(telegram, sessions, "Ира")
    before = len(telegram.texts_to(olga, CASHIER_TOKEN))
    telegram.fake.fail_chat(olga.id, 502, count=1)  # the till's answer does not get through

    delivery = await confirm(telegram, olga, offer)

    assert delivery["status"] == 200  # Telegram must not re-send the press
    assert len(telegram.texts_to(olga, CASHIER_TOKEN)) == before
    assert await status_of(sessions, code) is DiscountStatus.REDEEMED
    assert await redemptions_audited(sessions) == 1
    assert "использована" in telegram.texts_to(customer, CUSTOMER_TOKEN)[-1]
    # The cashier, seeing no answer, presses again: told it is used, when, by whom.
    await confirm(telegram, olga, offer)
    answer = telegram.texts_to(olga, CASHIER_TOKEN)[-1]
    assert "уже использован" in answer and "Ольга" in answer and "Алеутская" in answer
    assert await redemptions_audited(sessions) == 1


async def test_a_customer_who_blocked_the_bot_does_not_hold_up_the_till(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer, code, olga, offer = await at_the_till(telegram, sessions, "Ева")
    await telegram.fake.block_bot(CUSTOMER_TOKEN, customer)

    await confirm(telegram, olga, offer)

    assert "погашена" in telegram.texts_to(olga, CASHIER_TOKEN)[-1]
    assert await status_of(sessions, code) is DiscountStatus.REDEEMED


async def test_ten_tills_pressing_one_code_through_the_webhook_redeem_it_once(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, code = await subscribed(telegram, "Ася")
    tills = [await hired(telegram, sessions, f"Кассир {n}") for n in range(10)]
    offers = [await offered(telegram, till, code) for till in tills]

    await asyncio.gather(
        *(confirm(telegram, till, offer) for till, offer in zip(tills, offers, strict=True))
    )

    answers = [telegram.texts_to(till, CASHIER_TOKEN)[-1] for till in tills]
    assert sum("погашена" in answer for answer in answers) == 1, answers
    assert sum("уже использован" in answer for answer in answers) == 9, answers
    assert await redemptions_audited(sessions) == 1


async def test_on_long_polling_the_press_is_acknowledged_too(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Without a webhook aiogram makes the call the handler returned (`dvorik bots --polling`)."""
    _, _, olga, offer = await at_the_till(telegram, sessions, "Тая")
    app = telegram.dvorik.bot_apps.cashier
    await telegram.fake.call(CASHIER_TOKEN, "deleteWebhook", {})
    polling = asyncio.create_task(
        app.dispatcher.start_polling(app.bot, handle_signals=False, polling_timeout=1)
    )
    try:
        await confirm(telegram, olga, offer)
        await until(
            lambda: telegram.fake.method_counts["answerCallbackQuery"] > 0, "the press answered"
        )
    finally:
        await app.dispatcher.stop_polling()
        await polling
    assert telegram.fake.method_counts["answerCallbackQuery"] == 1
    assert "погашена" in telegram.texts_to(olga, CASHIER_TOKEN)[-1]


async def test_a_press_delivered_twice_is_handled_once(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The press records its update in its own transaction: a repeat finds it and stops,
    one after the other or at the same moment (the second waits for the first's lock)."""
    _, _, olga, offer = await at_the_till(telegram, sessions, "Оля")
    _, other_code = await subscribed(telegram, "Вика")
    first = await confirm(telegram, olga, offer)
    answers = len(telegram.texts_to(olga, CASHIER_TOKEN))

    again = await telegram.fake.deliver(CASHIER_TOKEN, first["update"])

    assert again["status"] == 200 and again["body"] == {"ok": True}
    assert len(telegram.texts_to(olga, CASHIER_TOKEN)) == answers
    other = await offered(telegram, olga, other_code)
    press = await confirm(telegram, olga, other)
    twice = {**press["update"], "update_id": telegram.fake.next_update_id(CASHIER_TOKEN)}
    answers = len(telegram.texts_to(olga, CASHIER_TOKEN))
    await asyncio.gather(*(telegram.fake.deliver(CASHIER_TOKEN, twice) for _ in range(2)))
    assert len(telegram.texts_to(olga, CASHIER_TOKEN)) == answers + 1  # "already used", once
    assert await redemptions_audited(sessions) == 2


async def test_a_refused_press_delivered_twice_is_answered_once(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, _, olga, offer = await at_the_till(telegram, sessions, "Кира")
    await confirm(telegram, olga, offer)
    refused = await confirm(telegram, olga, offer)
    assert "уже использован" in telegram.texts_to(olga, CASHIER_TOKEN)[-1]
    answers = len(telegram.texts_to(olga, CASHIER_TOKEN))

    await telegram.fake.deliver(CASHIER_TOKEN, refused["update"])

    assert len(telegram.texts_to(olga, CASHIER_TOKEN)) == answers


async def test_a_cashier_deactivated_after_the_look_up_cannot_confirm(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The redeeming statement itself checks the cashier: no stale read lets them through."""
    _, code, olga, offer = await at_the_till(telegram, sessions, "Майя")
    async with sessions() as session, session.begin():
        cashier = await cashiers.find_by_telegram_id(session, olga.id)
        assert cashier is not None
        await cashiers.set_active(session, cashier.id, False, actor=Actor.system())

    await confirm(telegram, olga, offer)

    assert "отключ" in telegram.texts_to(olga, CASHIER_TOKEN)[-1].lower()
    assert await status_of(sessions, code) is DiscountStatus.ACTIVE
    assert await redemptions_audited(sessions) == 0
