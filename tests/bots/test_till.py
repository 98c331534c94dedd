"""At the till: the cashier types as they always have, and the bot understands.

A cashier types a code in halves or with a dash, and the purchase amount the
way it stands on a Russian receipt: «1 250», «1250,50», «1 250,50 ₽», «1250р»,
«1250 руб.». The till answers in the same money («1 250,50 ₽»), with the
discount and the price to pay, so nobody computes it by hand. A greeting or a
lone amount is answered with what to type and is not taken for a guess at a
code. A cashier whose access was switched off is told so at `/start`.

The expected texts are written here by hand, as the cashier should read them.
"""

from __future__ import annotations

import contextlib
import itertools
import string
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import cashiers, codes, discounts
from backend.domain.amounts import (
    MAX_AMOUNT,
    NotACode,
    TillInputError,
    UnreadableAmount,
    parse_amount,
    parse_till_line,
)
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.models import DiscountKind
from backend.domain.money import rubles
from backend.fake_telegram import FakeUser
from tests.factories import make_customer
from tests.telegram_world import CASHIER_TOKEN, Telegram, telegram, telegram_world

__all__ = ["telegram", "telegram_world"]
_ids = itertools.count(5_700_001)


def seen(text: str) -> str:
    """The text as read on a screen: a non-breaking space looks like any other."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


async def customers_code(
    sessions: async_sessionmaker[AsyncSession], first_name: str, percent: int
) -> str:
    """A customer with a manual discount of `percent`, as the marketer gives one."""
    async with sessions() as session, session.begin():
        customer = await make_customer(session, first_name=first_name)
        discount = await discounts.issue(
            session,
            customer.id,
            discounts.IssueRequest(DiscountKind.MANUAL, percent=percent, reason="постоянный"),
            actor=Actor.system("test"),
            now=utcnow(),
        )
        return discount.code


async def hired(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession], name: str
) -> FakeUser:
    async with sessions() as session, session.begin():
        _, invite = await cashiers.invite(
            session, name, "Алеутская, 17", actor=Actor.system(), now=utcnow()
        )
    person = FakeUser(id=next(_ids), first_name=name, last_name="Ким", username=None)
    await telegram.fake.send_text(CASHIER_TOKEN, person, f"/start {invite}")
    assert "Добро пожаловать" in telegram.texts_to(person, CASHIER_TOKEN)[-1]
    return person


async def till_says(telegram: Telegram, cashier: FakeUser, typed: str) -> str:
    await telegram.fake.send_text(CASHIER_TOKEN, cashier, typed)
    return seen(telegram.texts_to(cashier, CASHIER_TOKEN)[-1])


# --- Through the bot -----------------------------------------------------------------------


async def test_the_cashier_types_code_and_amount_as_usual_and_sees_the_price_to_pay(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    code = await customers_code(sessions, "Вера", percent=15)
    olga = await hired(telegram, sessions, "Ольга")
    halves = f"{code[:4]} {code[4:]}"
    dashed = f"{code[:4].lower()}-{code[4:].lower()}"
    whole_rubles = [
        f"{code} 1250",
        f"{code} 1 250",
        f"{code} 1\u00a0250",
        f"{code} 1250р",
        f"{code} 1250 р.",
        f"{code} 1250 руб",
        f"{code} 1250 руб.",
        f"{code} 1 250 ₽",
        f"{halves} 1250,00",
        f"{dashed} 1 250",
    ]
    for typed in whole_rubles:
        answer = await till_says(telegram, olga, typed)
        assert f"Код {code}: скидка 15%" in answer, typed
        assert "Покупатель: Вера." in answer, typed
        assert "Сумма покупки: 1 250,00 ₽" in answer, typed
        assert "Скидка 15%: −187,50 ₽" in answer, typed
        assert "К оплате: 1 062,50 ₽" in answer, typed

    with_kopecks = [f"{code} 1250,50", f"{code} 1 250,50 ₽", f"{code} 1250.50", f"{code} 1250,5"]
    for typed in with_kopecks:
        answer = await till_says(telegram, olga, typed)
        assert "Сумма покупки: 1 250,50 ₽" in answer, typed
        assert "Скидка 15%: −187,58 ₽" in answer, typed  # 187,575: half a kopeck to the buyer
        assert "К оплате: 1 062,92 ₽" in answer, typed

    offer = telegram.fake.messages_to(olga.id, token=CASHIER_TOKEN)[-1]
    assert offer.reply_markup is not None and offer.message_id is not None
    data = str(offer.reply_markup["inline_keyboard"][0][0]["callback_data"])
    await telegram.fake.press_button(CASHIER_TOKEN, olga, data, offer.message_id)
    done = seen(telegram.texts_to(olga, CASHIER_TOKEN)[-1])
    assert done == (
        f"Готово: скидка 15% по коду {code} погашена.\n"
        "Сумма покупки: 1 250,50 ₽, скидка: 187,58 ₽.\n"
        "К оплате: 1 062,92 ₽"
    )
    today = await till_says(telegram, olga, "/today")
    assert f"{code} · 15% · 1 250,50 ₽" in today


async def test_a_code_alone_is_offered_without_a_price_and_with_how_to_get_one(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    code = await customers_code(sessions, "Нина", percent=10)
    olga = await hired(telegram, sessions, "Ольга")
    answer = await till_says(telegram, olga, f" {code[:3]}-{code[3:6]} {code[6:]} ")
    assert f"Код {code}: скидка 10%" in answer
    assert "Сумма" not in answer.split("\n")[1] and "—" not in answer
    assert f"«{code} 1250»" in answer
    offer = telegram.fake.messages_to(olga.id, token=CASHIER_TOKEN)[-1]
    assert offer.reply_markup is not None and offer.message_id is not None
    data = str(offer.reply_markup["inline_keyboard"][0][0]["callback_data"])
    await telegram.fake.press_button(CASHIER_TOKEN, olga, data, offer.message_id)
    done = seen(telegram.texts_to(olga, CASHIER_TOKEN)[-1])
    assert done == f"Готово: скидка 10% по коду {code} погашена."


async def test_what_is_not_a_code_is_answered_and_does_not_count_toward_the_limit(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    code = await customers_code(sessions, "Лиза", percent=10)
    olga = await hired(telegram, sessions, "Ольга")
    not_codes = ["Привет", "здравствуйте!", "1250", "1 250 ₽", "ABC", "ABCD23456789", "спасибо"]
    for typed in not_codes * 4:  # 28 lines: more than the 20 look-ups a minute allowed
        answer = await till_says(telegram, olga, typed)
        assert answer.startswith("Это не похоже на код скидки."), typed
        assert "8 латинских букв и цифр" in answer and "«ABCD2345 1 250,50»" in answer

    answer = await till_says(telegram, olga, f"{code} 12 50")
    assert answer.startswith(f"Код {code} вижу, а сумму покупки не понял."), answer
    assert f"«{code} 1 250,50 ₽»" in answer

    answer = await till_says(telegram, olga, f"{code} 1 250")
    assert "К оплате: 1 125,00 ₽" in answer  # still looked up: nothing above was counted


async def test_a_deactivated_cashier_is_told_at_start_and_not_offered_the_till(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    code = await customers_code(sessions, "Оля", percent=10)
    ivan = await hired(telegram, sessions, "Иван")
    async with sessions() as session, session.begin():
        cashier = await cashiers.find_by_telegram_id(session, ivan.id)
        assert cashier is not None
        await cashiers.set_active(session, cashier.id, False, actor=Actor.system())

    answer = await till_says(telegram, ivan, "/start")
    assert answer == (
        "Здравствуйте, Иван. Ваш доступ кассира (Алеутская, 17) отключён: проверять и погашать "
        "коды скидок сейчас нельзя. Чтобы доступ вернули, обратитесь к владельцу магазина "
        "или администратору."
    )
    answer = await till_says(telegram, ivan, f"{code} 1250")
    assert answer == "Ваш доступ кассира отключён. Обратитесь к администратору."


# --- The till line, over generated input ----------------------------------------------------

SPACES = st.sampled_from([" ", "\u00a0", "\u202f"])
CURRENCIES = st.sampled_from(
    ["", "₽", " ₽", "\u00a0₽", "р", " р", "р.", " р.", "руб", " руб", " руб.", " рублей", " RUB"]
)
amounts = st.decimals(min_value=Decimal("0.01"), max_value=MAX_AMOUNT - Decimal("0.01"), places=2)


@st.composite
def typed_amounts(draw: st.DrawFn, amount: Decimal) -> str:
    """`amount` as some cashier types it: grouped or not, comma or dot, ruble sign or not."""
    whole, kopecks = divmod(amount * 100, 100)
    digits = str(int(whole))
    if draw(st.booleans()):
        space = draw(SPACES)
        groups = [digits[max(0, end - 3) : end] for end in range(len(digits), 0, -3)]
        digits = space.join(reversed(groups))
    fraction = f"{int(kopecks):02d}"
    if fraction == "00" and draw(st.booleans()):
        fraction = ""
    elif fraction.endswith("0") and draw(st.booleans()):
        fraction = fraction[0]
    separator = draw(st.sampled_from([",", "."]))
    number = f"{digits}{separator}{fraction}" if fraction else digits
    return number + draw(CURRENCIES)


@st.composite
def typed_codes(draw: st.DrawFn, code: str) -> str:
    """`code` typed in pieces, with spaces or dashes between them, in either case."""
    cuts = sorted(draw(st.sets(st.integers(1, len(code) - 1), max_size=3)))
    pieces = [code[start:end] for start, end in zip([0, *cuts], [*cuts, len(code)], strict=True)]
    typed = "".join(piece + draw(st.sampled_from([" ", "-", ""])) for piece in pieces)
    return typed.rstrip(" -").lower() if draw(st.booleans()) else typed.rstrip(" -")


@given(amount=amounts, data=st.data())
def test_any_amount_typed_any_usual_way_reads_back_the_same(
    amount: Decimal, data: st.DataObject
) -> None:
    typed = data.draw(typed_amounts(amount))
    assert parse_amount(typed) == amount
    assert parse_amount(rubles(amount)) == amount  # what the till shows, typed back


@given(
    code=st.text(alphabet=codes.ALPHABET, min_size=8, max_size=8),
    amount=amounts,
    data=st.data(),
)
def test_a_code_with_an_amount_reads_back_both(
    code: str, amount: Decimal, data: st.DataObject
) -> None:
    typed_code = data.draw(typed_codes(code))
    line = parse_till_line(f"{typed_code} {data.draw(typed_amounts(amount))}")
    assert (line.code, line.amount) == (code, amount)
    assert parse_till_line(typed_code).amount is None


@given(st.text(max_size=120))
def test_garbage_is_a_typed_error_or_a_reading_never_a_crash(text: str) -> None:
    try:
        line = parse_till_line(text)
    except TillInputError:
        pass
    else:
        assert len(line.code) == codes.CODE_LENGTH and line.code.isalnum()
        assert line.amount is None or Decimal(0) < line.amount < MAX_AMOUNT
    with contextlib.suppress(UnreadableAmount):
        assert Decimal(0) < parse_amount(text) < MAX_AMOUNT


@given(st.text(alphabet=string.ascii_letters + "привет ,.!?", max_size=7))
def test_short_words_are_never_taken_for_a_code(text: str) -> None:
    with pytest.raises(NotACode):
        parse_till_line(text)


async def test_the_cashier_looks_a_code_up_then_types_the_amount_alone(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """As at a real till: the code first, then what the customer buys."""
    code = await customers_code(sessions, "Вера", percent=10)
    olga = await hired(telegram, sessions, "Ольга")
    first = await till_says(telegram, olga, code)
    assert "Пришлите сумму покупки" in first

    answer = await till_says(telegram, olga, "1 250 руб")

    assert f"Код {code}: скидка 10%" in answer
    assert "К оплате: 1 125,00 ₽" in answer, answer
    offer = telegram.fake.messages_to(olga.id, token=CASHIER_TOKEN)[-1]
    assert offer.reply_markup is not None and offer.message_id is not None
    data = str(offer.reply_markup["inline_keyboard"][0][0]["callback_data"])
    await telegram.fake.press_button(CASHIER_TOKEN, olga, data, offer.message_id)
    assert seen(telegram.texts_to(olga, CASHIER_TOKEN)[-1]).startswith("Готово")
    # Redeemed: an amount now belongs to no code.
    after = await till_says(telegram, olga, "1250")
    assert after.startswith("Это не похоже на код скидки."), after
