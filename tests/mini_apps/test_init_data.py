"""Only Telegram's own launch data opens a Mini App: forged, borrowed or stale initData is 401.

Each refused request tries to change something (unsubscribe, set a birthday,
look up and redeem a code); the test then checks the database and the audit
log: nothing changed. The signer is `tests/mini_app_init_data.py`, written
from Telegram's docs, not from our validator.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain.clock import utcnow
from backend.domain.models import AuditEntry, Customer, Discount
from backend.fake_telegram import FakeUser
from backend.mini_apps.init_data import LaunchUser, Refused, signed, verified_user
from tests.mini_app_init_data import signed_init_data, telegram_user
from tests.mini_apps.opened import OpenedApp, card, error_of, launch_data, till
from tests.mini_apps.people import hired, subscribed
from tests.telegram_world import CASHIER_TOKEN, CUSTOMER_TOKEN, Telegram

OTHER_BOT = "700000009:" + "x" * 35
DAY = 86_400  # MINI_APP_MAX_AGE_SECONDS's default, which the test server keeps


def tampered(init_data: str, **changes: str) -> str:
    """`init_data` with fields changed after signing (the hash left as it was)."""
    fields = dict(parse_qsl(init_data, keep_blank_values=True))
    fields.update(changes)
    return urlencode(fields, quote_via=quote)


def forgeries(user: FakeUser, token: str, victim: FakeUser) -> dict[str, str | None]:
    """initData that must not pass for `user` at the app of the bot with `token`."""
    real = launch_data(token, user)
    unsigned = {key: value for key, value in parse_qsl(real) if key != "hash"}
    now = int(time.time())
    return {
        "no header": None,
        "empty": "",
        "wrong hash": tampered(real, hash="0" * 64),
        "no hash": urlencode(unsigned, quote_via=quote),
        "other bot's token": launch_data(OTHER_BOT, user),
        "tampered user": tampered(real, user=f'{{"id":{victim.id},"first_name":"Лев"}}'),
        "tampered auth_date": tampered(real, auth_date=str(now + 5)),
        "another bot signs for the victim": signed_init_data(
            OTHER_BOT, telegram_user(victim.id, victim.first_name)
        ),
        "stale": launch_data(token, user, auth_date=now - DAY - 60),
        "from the future": launch_data(token, user, auth_date=now + 3_600),
        "oversized": launch_data(token, user, padding="x" * 5_000),
        "a field twice": real + "&user=%7B%7D",
    }


async def snapshot(sessions: async_sessionmaker[AsyncSession]) -> tuple[object, ...]:
    """What a refused request must leave as it was: customers, discounts, the audit log."""
    async with sessions() as session:
        people = await session.execute(select(Customer.id, Customer.status, Customer.birthday))
        codes = await session.execute(select(Discount.id, Discount.status, Discount.redeemed_at))
        audited = await session.scalar(select(func.count()).select_from(AuditEntry))
    return tuple(sorted(people.all())), tuple(sorted(codes.all())), audited


async def refused_everywhere(opened: OpenedApp, calls: list[tuple[str, object]]) -> list[str]:
    """Each call with `opened`'s initData; what was not a 401 in this API's words."""
    wrong = []
    for path, body in calls:
        answer = await (opened.get(path) if body is None else opened.post(path, body))
        if answer.status_code != 401 or error_of(answer)[1] != "UNAUTHENTICATED":
            wrong.append(f"{path}: {answer.status_code} {answer.text}")
        elif "откройте снова из меню бота" not in error_of(answer)[2]:
            wrong.append(f"{path}: {answer.text}")
    return wrong


async def test_forged_or_stale_card_init_data_is_401_and_changes_nothing(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user, victim = await subscribed(telegram, "Лев"), await subscribed(telegram, "Ира")
    before = await snapshot(sessions)
    calls: list[tuple[str, object]] = [
        ("/app/api/card", None),
        ("/app/api/subscription", {"subscribed": False}),
        ("/app/api/birthday", {"birthday": "09.05.1990"}),
    ]
    genuine = card(telegram, user)

    for name, init_data in forgeries(user, CUSTOMER_TOKEN, victim).items():
        assert await refused_everywhere(genuine.with_init_data(init_data), calls) == [], name

    assert await snapshot(sessions) == before
    assert (await genuine.get("/app/api/card")).status_code == 200


async def test_forged_or_borrowed_till_init_data_is_401_and_redeems_nothing(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer, cashier = await subscribed(telegram, "Аня"), await hired(telegram, sessions)
    code = (await card(telegram, customer).get("/app/api/card")).json()["discounts"][0]["code"]
    before = await snapshot(sessions)
    calls: list[tuple[str, object]] = [
        ("/app/api/till", None),
        ("/app/api/till/lookup", {"code": code}),
        ("/app/api/till/quote", {"code": code, "amount": "1250"}),
        ("/app/api/till/redeem", {"code": code, "amount": "1250"}),
    ]
    genuine = till(telegram, cashier)

    forged = forgeries(cashier, CASHIER_TOKEN, customer)
    forged["the card's initData (customer bot)"] = launch_data(CUSTOMER_TOKEN, cashier)
    for name, init_data in forged.items():
        assert await refused_everywhere(genuine.with_init_data(init_data), calls) == [], name

    assert await snapshot(sessions) == before
    assert (await genuine.get("/app/api/till")).status_code == 200
    till_init_data = launch_data(CASHIER_TOKEN, customer)
    assert (await card(telegram, customer, till_init_data).get("/app/api/card")).status_code == 401


def test_init_data_signed_as_telegram_does_names_its_user_until_it_is_too_old() -> None:
    issued = 1_780_000_000
    raw = signed_init_data(
        CUSTOMER_TOKEN,
        telegram_user(42, "Маша", last_name="Ким", username="masha"),
        auth_date=issued,
        query_id="AAHdF6IQAAAAAN0XohDhrOrc",
        chat_instance="-1",
    )

    def at(seconds_later: int) -> LaunchUser:
        now = datetime.fromtimestamp(issued + seconds_later, UTC)
        return verified_user(raw, CUSTOMER_TOKEN, now=now, max_age_seconds=DAY)

    assert at(DAY) == LaunchUser(42, "Маша", "Ким", "masha", "ru")
    assert at(-60).id == 42  # our clock a minute behind Telegram's
    for too_far in (DAY + 1, -61):
        with pytest.raises(Refused):
            at(too_far)


def test_what_dvorik_try_signs_passes_the_check_the_way_telegrams_does() -> None:
    now = utcnow()
    user = LaunchUser(7, "Гость", username="guest")

    raw = signed(user, CASHIER_TOKEN, now=now)

    assert verified_user(raw, CASHIER_TOKEN, now=now, max_age_seconds=60) == user
    with pytest.raises(Refused):
        verified_user(raw, CUSTOMER_TOKEN, now=now, max_age_seconds=60)
