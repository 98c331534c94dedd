"""A cashier scans a customer's QR in the till Mini App: the cashier bot's rules, words and limits.

Each scenario does at the Mini App what a cashier could type in the bot, in the
same test, and compares what they read. Redemption is two actions after the
scan: the amount (quote), then confirm (redeem).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import cashiers, shop_settings
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.models import AuditEntry, Cashier, Discount, DiscountStatus
from backend.fake_telegram import FakeUser
from tests.factories import make_customer, make_discount
from tests.mini_apps.opened import card, error_of, till
from tests.mini_apps.people import chat, hired, someone
from tests.telegram_world import CASHIER_TOKEN, CUSTOMER_TOKEN, Telegram


async def customer_with_code(telegram: Telegram, first_name: str = "Аня") -> tuple[FakeUser, str]:
    """A subscribed customer and the code their card shows (what the till scans)."""
    user = someone(first_name)
    await telegram.fake.send_text(CUSTOMER_TOKEN, user, "/start")
    shown = (await card(telegram, user).get("/app/api/card")).json()
    return user, shown["discounts"][0]["code"]


async def bot_answers(telegram: Telegram, cashier: FakeUser, typed: str) -> str:
    """What the cashier bot answers when `typed` is typed at it."""
    return (await chat(telegram, cashier, typed, CASHIER_TOKEN))[-1]


async def redemptions(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        counted = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "discount.redeem")
        )
    return counted or 0


async def test_a_cashier_redeems_in_two_actions_after_the_scan(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer, code = await customer_with_code(telegram)
    olga = await hired(telegram, sessions)
    app = till(telegram, olga)
    opened = (await app.get("/app/api/till")).json()
    assert opened["cashier"] == {"name": "Ольга", "store": "Светланская, 33"}

    scanned = await app.post("/app/api/till/lookup", {"code": code})  # the scan
    quoted = await app.post("/app/api/till/quote", {"code": code, "amount": "1 250 руб"})
    redeemed = await app.post("/app/api/till/redeem", {"code": code, "amount": "1 250 руб"})

    assert scanned.status_code == 200, scanned.text
    assert scanned.json()["percent"] == 10 and scanned.json()["customerName"] == "Аня"
    assert scanned.json()["kindLabel"] == "за подписку"
    assert quoted.json() == {
        "code": code,
        "percent": 10,
        "amount": "1250.00",
        "discount": "125.00",
        "toPay": "1125.00",
        "message": quoted.json()["message"],
    }
    assert "К оплате: 1\u00a0125,00\u00a0₽" in quoted.json()["message"]
    assert redeemed.status_code == 200, redeemed.text
    assert redeemed.json()["toPay"] == "1125.00"
    assert redeemed.json()["message"].startswith(f"Готово: скидка 10% по коду {code} погашена.")
    told = await telegram.fake.wait_for_messages(customer.id, 3, within=10, token=CUSTOMER_TOKEN)
    assert "использована" in (told[-1].text or "")  # told, as by the bot
    async with sessions() as session:
        discount = await session.scalar(select(Discount).where(Discount.code == code))
        cashier = await session.scalar(select(Cashier).where(Cashier.telegram_id == olga.id))
    assert discount is not None and cashier is not None
    assert discount.status is DiscountStatus.REDEEMED and discount.cashier_id == cashier.id
    assert discount.purchase_amount == Decimal("1250.00")
    assert await redemptions(sessions) == 1
    assert (await card(telegram, customer).get("/app/api/card")).json()["discounts"] == []


async def test_the_till_reads_what_the_bot_shows_for_the_same_code(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, code = await customer_with_code(telegram)
    olga = await hired(telegram, sessions)
    app = till(telegram, olga)

    assert (await app.post("/app/api/till/lookup", {"code": code})).json()["message"] == (
        await bot_answers(telegram, olga, code)
    )
    quoted = await app.post("/app/api/till/quote", {"code": code, "amount": "1250,50"})
    assert quoted.json()["message"] == await bot_answers(telegram, olga, f"{code} 1250,50")


async def test_refusals_carry_the_bots_words(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        owner = await make_customer(session)
        used = await make_discount(session, owner, status=DiscountStatus.REDEEMED)
        cancelled = await make_discount(session, owner, status=DiscountStatus.CANCELLED)
        expired = await make_discount(session, owner, issued_at=utcnow() - timedelta(days=40))
        codes = {"used": used.code, "cancelled": cancelled.code, "expired": expired.code}
        # Each case is looked up six times (three at the app, three in the chat).
        await shop_settings.set_value(session, "cashier_lookups_per_minute", 100, Actor.system())
    codes["unknown"] = "ZZZZ2345"
    expected = {
        "used": (409, "CODE_ALREADY_REDEEMED", "уже использован"),
        "cancelled": (409, "CODE_CANCELLED", "отменена"),
        "expired": (409, "CODE_EXPIRED", "истёк"),
        "unknown": (404, "CODE_NOT_FOUND", "не найден"),
    }
    olga = await hired(telegram, sessions)
    app = till(telegram, olga)

    for case, code in codes.items():
        status, error_code, words = expected[case]
        for path in ("/app/api/till/lookup", "/app/api/till/quote", "/app/api/till/redeem"):
            refused = await app.post(path, {"code": code, "amount": "500"})
            said = await bot_answers(telegram, olga, f"{code} 500")
            assert error_of(refused) == (status, error_code, said), (case, path)
            assert words in said, (case, said)
    assert await redemptions(sessions) == 0


async def test_an_unreadable_amount_or_no_code_is_answered_as_the_bot_does(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, code = await customer_with_code(telegram)
    olga = await hired(telegram, sessions)
    app = till(telegram, olga)

    for amount in ("много", "-5", "1250 рублей 50", ""):
        refused = await app.post("/app/api/till/quote", {"code": code, "amount": amount})
        status, error_code, message = error_of(refused)
        assert (status, error_code) == (422, "VALIDATION"), amount
        assert message == await bot_answers(telegram, olga, f"{code} много")
    not_a_code = await app.post("/app/api/till/lookup", {"code": "привет"})
    assert error_of(not_a_code) == (422, "VALIDATION", await bot_answers(telegram, olga, "привет"))
    async with sessions() as session:
        discount = await session.scalar(select(Discount).where(Discount.code == code))
    assert discount is not None and discount.status is DiscountStatus.ACTIVE


async def test_an_inactive_cashier_or_a_stranger_is_403_in_the_bots_words(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, code = await customer_with_code(telegram)
    olga, stranger = await hired(telegram, sessions), someone("Прохожий")
    async with sessions() as session, session.begin():
        cashier = await session.scalar(select(Cashier).where(Cashier.telegram_id == olga.id))
        assert cashier is not None
        await cashiers.set_active(session, cashier.id, False, actor=Actor.system())

    for who, error_code in ((olga, "CASHIER_INACTIVE"), (stranger, "FORBIDDEN")):
        said = await bot_answers(telegram, who, "/today")
        assert error_of(await till(telegram, who).get("/app/api/till")) == (403, error_code, said)
        for path in ("/app/api/till/lookup", "/app/api/till/redeem"):
            refused = await till(telegram, who).post(path, {"code": code})
            assert error_of(refused) == (403, error_code, said), path
    assert await redemptions(sessions) == 0


async def test_look_ups_over_the_cashiers_limit_are_429_counted_with_the_bots(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        await shop_settings.set_value(session, "cashier_lookups_per_minute", 3, Actor.system())
    olga = await hired(telegram, sessions)
    app = till(telegram, olga)

    await bot_answers(telegram, olga, "ZZZZ2345")  # one look-up in the chat
    answers = [await app.post("/app/api/till/lookup", {"code": "ZZZZ2346"}) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [404, 404, 429]
    status, error_code, message = error_of(answers[-1])
    assert (status, error_code) == (429, "THROTTLED") and "Слишком много проверок" in message
    assert 0 < answers[-1].json()["error"]["retry_after_seconds"] <= 60
    assert answers[-1].headers["Retry-After"] == str(
        answers[-1].json()["error"]["retry_after_seconds"]
    )
    assert "Слишком много проверок" in await bot_answers(telegram, olga, "ZZZZ2347")


async def test_two_tills_confirming_one_code_at_once_one_wins(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer, code = await customer_with_code(telegram, "Ася")
    tills = [till(telegram, await hired(telegram, sessions, name)) for name in ("Ольга", "Иван")]
    for app in tills:
        assert (await app.post("/app/api/till/quote", {"code": code, "amount": "990"})).is_success

    answers = await asyncio.gather(
        *(app.post("/app/api/till/redeem", {"code": code, "amount": "990"}) for app in tills)
    )

    assert sorted(answer.status_code for answer in answers) == [200, 409], [a.text for a in answers]
    lost = next(answer for answer in answers if answer.status_code == 409)
    _, error_code, message = error_of(lost)
    assert error_code == "CODE_ALREADY_REDEEMED" and "уже использован" in message
    assert "Светланская, 33" in message  # when and where, as the bot says it
    assert await redemptions(sessions) == 1
    told = await telegram.fake.wait_for_messages(customer.id, 3, within=10, token=CUSTOMER_TOKEN)
    assert sum("использована" in (message.text or "") for message in told) == 1
