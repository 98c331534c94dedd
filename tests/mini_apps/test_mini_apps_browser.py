"""Both Mini Apps in a real browser on a phone-sized screen, against Dvorik with both bots.

Headless Chromium opens /app/card and /app/till as Telegram would: a stand-in
for `window.Telegram.WebApp` carries initData signed with the bot's token
(tests/mini_app_pages.py), Telegram's light or dark theme, a QR scanner that
"scans" the code the test gives and the main button. The customer joins in the
chat, as customers do, and the card must show what the bot's «Мои скидки» shows;
the cashier scans, types «1 250 руб» and confirms (two actions after the scan).
A forged or stale initData is refused and changes nothing; two tills confirming
one code at once: one redeems, the other reads the refusal. Screenshots of both
apps, light and dark, go to test-artifacts/mini-apps/.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import customers
from backend.domain.clock import business_date, utcnow
from backend.domain.database import create_sessionmaker
from backend.domain.models import (
    Customer,
    CustomerStatus,
    Discount,
    DiscountKind,
    DiscountStatus,
)
from backend.domain.money import bill, rubles
from backend.fake_telegram import FakeUser
from backend.mini_apps.init_data import launch_url
from tests.browser import DevTools
from tests.databases import fresh_database, run_alembic
from tests.factories import make_discount
from tests.mini_app_pages import (
    fits_a_small_phone,
    keep_screenshot,
    mini_app,
    shown,
    stand_in_calls,
    switch_theme,
    tap,
    text_of,
    texts_of,
    type_into,
)
from tests.mini_apps.opened import launch_data
from tests.mini_apps.people import hired, subscribed
from tests.telegram_world import CASHIER_TOKEN, CUSTOMER_TOKEN, Telegram, served_with_bots
from tests.timing import until

pytestmark = pytest.mark.slow
BUDGET = 90.0  # seconds for one test, Chromium's and Dvorik's start included
Sessions = async_sessionmaker[AsyncSession]
STORE = "Светланская, 33"  # where tests.mini_apps.people hires cashiers


@dataclass
class Shop:
    world: Telegram
    sessions: Sessions

    def url(self, app: str) -> str:
        return f"{self.world.dvorik.url}/app/{app}"

    async def text(self, key: str, **values: object) -> str:
        """A template as the shop has it (what the bots say)."""
        return await self.world.dvorik.runtime.texts.plain(key, **values)


@pytest.fixture
async def shop(tmp_path: Path) -> AsyncIterator[Shop]:
    """Dvorik in its embedded default (SQLite) with both bots on the fake Bot API."""
    engine = await fresh_database("sqlite", tmp_path, "mini_apps")
    await run_alembic(engine, "upgrade", "head")
    try:
        async with asyncio.timeout(BUDGET), served_with_bots(engine) as world:
            await world.connect_webhooks()
            yield Shop(world, create_sessionmaker(engine))
    finally:
        await engine.dispose()


async def customer_of(shop: Shop, user: FakeUser) -> Customer:
    async with shop.sessions() as session:
        found = await customers.find_by_telegram_id(session, user.id)
    assert found is not None
    return found


async def discounts_of(shop: Shop, user: FakeUser) -> list[Discount]:
    customer = await customer_of(shop, user)
    async with shop.sessions() as session:
        rows = await session.scalars(select(Discount).where(Discount.customer_id == customer.id))
        return list(rows)


async def bots_discount_cards(shop: Shop, user: FakeUser) -> list[str]:
    """The captions of the cards the bot sends for «Мои скидки», in its order."""
    before = len(shop.world.fake.messages_to(user.id, token=CUSTOMER_TOKEN))
    await shop.world.fake.send_text(CUSTOMER_TOKEN, user, await shop.text("button_my_discounts"))
    sent = shop.world.fake.messages_to(user.id, token=CUSTOMER_TOKEN)[before:]
    return [message.caption or "" for message in sent if message.method == "sendPhoto"]


def unexpected_problems(page: DevTools) -> list[object]:
    """Failed loads and exceptions, but for telegram.org's script (blocked: no internet here)."""
    return [p for p in page.problems() if p.get("blockedReason") != "inspector"]


def plain_spaces(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


# --- the customer's card ---------------------------------------------------------------------


async def flip_the_switch(page: DevTools) -> None:
    """The customer taps the subscription switch and waits for the card to come back."""
    await tap(page, "#subscribed")
    await page.wait_for("!document.querySelector('#subscribed').disabled", "the card again")


async def test_the_card_shows_the_bots_discounts_and_takes_the_birthday_as_the_chat_does(
    shop: Shop, tmp_path: Path
) -> None:
    masha = await subscribed(shop.world, "Маша")
    async with shop.sessions() as session, session.begin():
        customer = await session.get(Customer, (await customer_of(shop, masha)).id)
        assert customer is not None
        await make_discount(session, customer, kind=DiscountKind.MANUAL, valid_days=10)
        await make_discount(session, customer, kind=DiscountKind.PROMO, valid_days=3)
    in_chat = await bots_discount_cards(shop, masha)
    assert len(in_chat) == 3

    async with mini_app(shop.url("card"), launch_data(CUSTOMER_TOKEN, masha), tmp_path) as page:
        assert await texts_of(page, ".discount .caption") == in_chat
        codes = await page.evaluate(
            "[...document.querySelectorAll('.discount')].map(d => d.dataset.code)"
        )
        assert all(code in caption for code, caption in zip(codes, in_chat, strict=True))
        assert await texts_of(page, ".discount .code") == codes
        assert await page.evaluate(
            "[...document.querySelectorAll('.discount img.qr')]"
            ".every(i => i.complete && i.naturalWidth > 0)"
        )
        kinds = [await shop.text(f"kind_{kind}") for kind in ("subscription", "manual", "promo")]
        assert sorted(await texts_of(page, ".discount .kind")) == sorted(kinds)
        assert await text_of(page, "#profile-birthday") == await shop.text("profile_no_birthday")
        assert await fits_a_small_phone(page, "light")
        await keep_screenshot(page, "card-light")

        await type_into(page, "#birthday-input", "31.02.1990")
        await tap(page, "#birthday button[type=submit]")
        refused = await shown(page, "#birthday-error", "the birthday refusal")
        assert refused == await shop.text("birthday_not_a_date")

        today = business_date(utcnow(), shop.world.dvorik.runtime.settings.zone)
        typed = f"{today:%d.%m}.1990"
        await type_into(page, "#birthday-input", typed)
        await tap(page, "#birthday button[type=submit]")
        said = await shown(page, "#notice", "the birthday reply")
        gift = next(d for d in await discounts_of(shop, masha) if d.kind is DiscountKind.BIRTHDAY)
        assert gift.code in said and typed in said, said
        assert await page.evaluate("document.querySelector('#birthday') === null")
        assert await text_of(page, "#profile-birthday") == typed
        assert gift.code in await texts_of(page, ".discount .code")

        await flip_the_switch(page)
        said = await text_of(page, "#subscription-notice")  # by the switch, where the eyes are
        assert said == await shop.text("unsubscribed", first_name="Маша")
        assert await text_of(page, "#subscription-status") == await shop.text("status_unsubscribed")
        assert (await customer_of(shop, masha)).status is CustomerStatus.UNSUBSCRIBED
        await flip_the_switch(page)
        assert await page.evaluate("document.querySelector('#subscribed').checked")
        assert (await customer_of(shop, masha)).status is CustomerStatus.ACTIVE

        await switch_theme(page, "dark")
        background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(28, 28, 29)"  # Telegram's dark secondary_bg_color
        await keep_screenshot(page, "card-dark")
        assert not unexpected_problems(page)


async def test_the_card_opens_in_a_plain_browser_from_the_url_dvorik_try_prints(
    shop: Shop, tmp_path: Path
) -> None:
    """No Telegram and no telegram.org: initData from the URL fragment, the phone's dark mode."""
    masha = await subscribed(shop.world, "Маша")
    (discount,) = await discounts_of(shop, masha)
    url = launch_url(shop.url("card"), launch_data(CUSTOMER_TOKEN, masha))
    async with mini_app(url, None, tmp_path, scheme="dark") as page:
        assert await texts_of(page, ".discount .code") == [discount.code]
        assert await page.evaluate("document.documentElement.dataset.scheme") == "dark"
        assert await page.evaluate("document.title") == await shop.text("mini_app_card_title")
        assert any("telegram.org" in url for url in page.requested_urls())
        await keep_screenshot(page, "card-outside-telegram-dark")


# --- the cashier's till ----------------------------------------------------------------------


async def scan(page: DevTools, code: str) -> None:
    """The cashier taps «Сканировать» and points the camera at the customer's QR."""
    await tap(page, "#scan")
    await page.evaluate(f"telegramStandIn.scan({json.dumps(code)})")
    await shown(page, "#offer", "the scanned discount")


async def test_a_cashier_scans_types_the_amount_and_confirms(shop: Shop, tmp_path: Path) -> None:
    masha = await subscribed(shop.world, "Маша")
    olga = await hired(shop.world, shop.sessions, "Ольга")
    (discount,) = await discounts_of(shop, masha)
    to_pay = bill(Decimal("1250"), discount.percent).to_pay

    async with mini_app(shop.url("till"), launch_data(CASHIER_TOKEN, olga), tmp_path) as page:
        assert await text_of(page, "header .hint") == f"Ольга · {STORE}"
        await type_into(page, "#code-input", "ABCD2345")  # the typed fallback, mistyped
        await tap(page, "#lookup button[type=submit]")
        assert await shown(page, "#notice", "the refusal") == await shop.text(
            "cashier_code_not_found"
        )
        await scan(page, discount.code)
        assert await stand_in_calls(page) == [
            "setHeaderColor:secondary_bg_color",
            "setBackgroundColor:secondary_bg_color",
            "ready",
            "expand",
            "haptic:error",
            "showScanQrPopup",
            "closeScanQrPopup",
        ]
        assert await text_of(page, "#offer .code") == discount.code
        assert f"−{discount.percent}%" in await text_of(page, "#offer")

        await type_into(page, "#amount", "много")
        unread = await shown(page, "#amount-error", "the unreadable amount")
        assert unread == await shop.text("cashier_amount_unreadable", code=discount.code)
        assert await page.evaluate("document.querySelector('#confirm').disabled")
        assert not await page.evaluate("Telegram.WebApp.MainButton.isVisible")

        await type_into(page, "#amount", "1 250 руб")  # the first action after the scan
        quoted = await shown(page, "#to-pay", "the price to pay")
        assert plain_spaces(rubles(to_pay)) in plain_spaces(quoted)
        assert await page.evaluate("Telegram.WebApp.MainButton.isVisible")
        assert await fits_a_small_phone(page, "light")
        await keep_screenshot(page, "till-light")
        await switch_theme(page, "dark")
        await keep_screenshot(page, "till-dark")

        await page.evaluate("telegramStandIn.pressMainButton()")  # the second: confirm
        result = await shown(page, "#result", "the result")
        assert await page.evaluate("document.querySelector('#result').dataset.kind") == "ok"
        assert discount.code in result and plain_spaces(rubles(to_pay)) in plain_spaces(result)
        await keep_screenshot(page, "till-result-dark")

        await tap(page, "#next")
        await shown(page, "#scan", "the scan button for the next customer")
        assert not unexpected_problems(page)

    (redeemed,) = await discounts_of(shop, masha)
    assert redeemed.status is DiscountStatus.REDEEMED
    assert redeemed.purchase_amount == Decimal("1250.00")
    notice = await redeemed_notice(shop, discount, STORE)  # sent after the till's answer
    await until(lambda: notice in shop.world.texts_to(masha, CUSTOMER_TOKEN), "Маша's notice")

    card = shop.url("card")
    async with mini_app(card, launch_data(CUSTOMER_TOKEN, masha), tmp_path / "card") as page:
        empty = await shown(page, "#empty", "the empty card")
        assert empty == await shop.text("cabinet_empty", first_name="Маша")
        await keep_screenshot(page, "card-empty-light")


async def redeemed_notice(shop: Shop, discount: Discount, store: str) -> str:
    """What the customer bot tells Маша when her code is used at `store`."""
    return await shop.text(
        "discount_redeemed_notice",
        first_name="Маша",
        percent=discount.percent,
        code=discount.code,
        store=store,
    )


@pytest.mark.parametrize("launch", ["forged", "stale", "the card's"])
async def test_a_forged_or_stale_launch_is_refused_and_changes_nothing(
    shop: Shop, tmp_path: Path, launch: str
) -> None:
    masha = await subscribed(shop.world, "Маша")
    olga = await hired(shop.world, shop.sessions, "Ольга")
    (discount,) = await discounts_of(shop, masha)
    init_data = {
        "forged": launch_data("700000002:" + "x" * 35, olga),
        "stale": launch_data(CASHIER_TOKEN, olga, auth_date=int(time.time()) - 2 * 86400),
        "the card's": launch_data(CUSTOMER_TOKEN, olga),
    }[launch]
    chat_before = shop.world.texts_to(masha, CUSTOMER_TOKEN)

    async with mini_app(shop.url("till"), init_data, tmp_path) as page:
        refusal = await shown(page, "#refusal", "the refusal")
        assert refusal == await shop.text("mini_app_unauthenticated")
        assert await page.evaluate("document.querySelector('#scan') === null")
        tried = await page.evaluate(
            "fetch('/app/api/till/redeem', {method: 'POST', headers: {'Authorization': 'tma ' +"
            f" Telegram.WebApp.initData, 'Content-Type': 'application/json'}}, body:"
            f" JSON.stringify({{code: {json.dumps(discount.code)}, amount: '1250'}})}})"
            ".then(r => r.status)"
        )
        assert tried == 401
        if launch == "forged":
            await keep_screenshot(page, "till-refused-light")

    (unchanged,) = await discounts_of(shop, masha)
    assert unchanged.status is DiscountStatus.ACTIVE
    assert shop.world.texts_to(masha, CUSTOMER_TOKEN) == chat_before


async def test_two_tills_confirming_one_code_at_once_redeem_it_once(
    shop: Shop, tmp_path: Path
) -> None:
    masha = await subscribed(shop.world, "Маша")
    olga = await hired(shop.world, shop.sessions, "Ольга")
    ivan = await hired(shop.world, shop.sessions, "Иван")
    (discount,) = await discounts_of(shop, masha)

    async with (
        mini_app(shop.url("till"), launch_data(CASHIER_TOKEN, olga), tmp_path / "olga") as first,
        mini_app(shop.url("till"), launch_data(CASHIER_TOKEN, ivan), tmp_path / "ivan") as second,
    ):
        for page in (first, second):
            await scan(page, discount.code)
            await type_into(page, "#amount", "1 250 руб")
            await shown(page, "#to-pay", "the price to pay")
        await asyncio.gather(tap(first, "#confirm"), tap(second, "#confirm"))
        for page in (first, second):
            await shown(page, "#result", "the result")
        kinds = [
            await page.evaluate("document.querySelector('#result').dataset.kind")
            for page in (first, second)
        ]
        assert sorted(kinds) == ["error", "ok"]
        loser = (first, second)[kinds.index("error")]
        said = await text_of(loser, "#result .message")
        await shop.world.fake.send_text(CASHIER_TOKEN, ivan, discount.code)
        assert said == shop.world.texts_to(ivan, CASHIER_TOKEN)[-1]  # the bot's own words
        assert said.startswith(f"Код {discount.code} уже использован")
        await keep_screenshot(loser, "till-race-refused-light")

    (redeemed,) = await discounts_of(shop, masha)
    assert redeemed.status is DiscountStatus.REDEEMED
    notice = await redeemed_notice(shop, discount, STORE)
    await until(lambda: notice in shop.world.texts_to(masha, CUSTOMER_TOKEN), "Маша's notice")
    assert shop.world.texts_to(masha, CUSTOMER_TOKEN).count(notice) == 1
