"""The customer bot as a person uses it: no state traps, words understood, buttons that last.

Every journey runs end to end through the fake Bot API; the expected texts are
written by hand from what a customer should read.
"""

from __future__ import annotations

import itertools
import os
import re
from datetime import date
from pathlib import Path

import pytest
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import StatesGroup
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.bots import customer as customer_bot
from backend.domain import button_labels, shop_settings, template_admin, templates
from backend.domain.audit import Actor
from backend.domain.database import create_sessionmaker
from backend.domain.models import Customer, ParseMode, Template
from backend.fake_telegram import FakeUser
from tests.conftest import DATABASES
from tests.customer_cases import KIND_LABELS, born_today, give_every_kind
from tests.databases import drop_database, fresh_database, run_alembic
from tests.telegram_world import CUSTOMER_TOKEN, Telegram, fresh, telegram_world

__all__ = ["telegram_world"]
_ids = itertools.count(5_600_001)
MARKETER = Actor.system("marketing")


def someone(first_name: str = "Маша") -> FakeUser:
    return FakeUser(id=next(_ids), first_name=first_name, last_name="Ким", username=None)


@pytest.fixture
async def telegram(
    telegram_world: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> Telegram:
    return await fresh(telegram_world)


async def says(telegram: Telegram, user: FakeUser, text: str) -> list[str]:
    """`user` writes `text`; what the bot answered to it (messages and photo captions)."""
    before = len(telegram.texts_to(user, CUSTOMER_TOKEN))
    delivery = await telegram.fake.send_text(CUSTOMER_TOKEN, user, text)
    assert delivery["status"] == 200
    return telegram.texts_to(user, CUSTOMER_TOKEN)[before:]


async def state_of(telegram: Telegram, user: FakeUser) -> str | None:
    """The conversation state the bot keeps for `user` (None: not waiting for anything)."""
    app = telegram.dvorik.bot_apps.customer
    key = StorageKey(bot_id=app.bot.id, chat_id=user.id, user_id=user.id)
    return await FSMContext(storage=app.dispatcher.storage, key=key).get_state()


async def new_customer(telegram: Telegram) -> FakeUser:
    user = someone()
    assert any("Добро пожаловать" in text for text in await says(telegram, user, "/start"))
    return user


def states_of_the_bot() -> set[str]:
    """Every conversation state the customer bot defines, so a new one cannot go unwalked."""
    groups = [
        item
        for item in vars(customer_bot).values()
        if isinstance(item, type) and issubclass(item, StatesGroup) and item is not StatesGroup
    ]
    return {state.state for group in groups for state in group.__all_states__ if state.state}


# How a customer gets into each state, by what they type.
ENTER = {None: [], customer_bot.BirthdayForm.waiting.state: ["/birthday"]}

# What each command or menu press answers (a phrase of its own reply), from a subscribed
# customer with the welcome discount; and the state it leaves the chat in.
COMMANDS: dict[str, tuple[str, str | None]] = {
    "/start": ("вы уже с нами", None),
    "/discounts": ("активных скидок: 1", None),
    "/birthday": ("Напишите дату рождения", customer_bot.BirthdayForm.waiting.state),
    "/profile": ("👤 Маша", None),
    "/help": ("/discounts — мои скидки", None),
    "/stop": ("Вы отписались от рассылок", None),
    "/admin": ("/discounts — мои скидки", None),  # not an admin: the ordinary help
    "🎟 Мои скидки": ("активных скидок: 1", None),
    "🎂 День рождения": ("Напишите дату рождения", customer_bot.BirthdayForm.waiting.state),
    "👤 Профиль": ("👤 Маша", None),
    "❓ Помощь": ("/discounts — мои скидки", None),
    "🔕 Отписаться": ("Вы отписались от рассылок", None),
    "🔔 Подписаться": ("вы уже с нами", None),
    "/frobnicate": ("Я не понял сообщение", None),
}
WALK = [
    pytest.param(state, command, id=f"{state or 'no state'} + {command}")
    for state in ENTER
    for command in COMMANDS
]


def test_the_walk_covers_every_state_and_every_command() -> None:
    assert set(ENTER) - {None} == states_of_the_bot()
    router = customer_bot.create_router()
    registered = {
        command
        for handler in router.message.handlers
        for filter_ in handler.filters or []
        if isinstance(filter_.callback, Command)
        for command in filter_.callback.commands
    }
    walked = {text.removeprefix("/") for text in COMMANDS if text.startswith("/")}
    assert registered - {"cancel"} == walked - {"frobnicate"}


@pytest.mark.parametrize(("state", "command"), WALK)
async def test_every_command_and_button_works_from_every_state(
    telegram: Telegram, state: str | None, command: str
) -> None:
    user = await new_customer(telegram)
    for step in ENTER[state]:
        await says(telegram, user, step)
    assert await state_of(telegram, user) == state

    answer = "\n".join(await says(telegram, user, command))

    expected, state_after = COMMANDS[command]
    assert expected in answer
    assert "Не получилось разобрать дату" not in answer
    assert await state_of(telegram, user) == state_after


async def test_the_birthday_prompt_offers_cancel_and_cancel_leaves_it(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user = await new_customer(telegram)
    await says(telegram, user, "/birthday")
    prompt = telegram.fake.messages_to(user.id, token=CUSTOMER_TOKEN)[-1]
    assert prompt.reply_markup is not None and prompt.message_id is not None
    button = prompt.reply_markup["inline_keyboard"][0][0]
    assert "Отмена" in button["text"]

    await telegram.fake.press_button(
        CUSTOMER_TOKEN, user, button["callback_data"], prompt.message_id
    )
    assert "отменили" in telegram.texts_to(user, CUSTOMER_TOKEN)[-1]
    assert await state_of(telegram, user) is None
    # A date typed now is not taken for a birthday: the prompt is over.
    assert "не понял" in (await says(telegram, user, "09.05.1990"))[-1]
    async with sessions() as session:
        stored = await session.scalar(select(Customer).where(Customer.telegram_id == user.id))
    assert stored is not None and stored.birthday is None

    # A bad date keeps the prompt, says what to type, and offers «Отмена» again.
    await says(telegram, user, "/birthday")
    assert "ДД.ММ.ГГГГ" in (await says(telegram, user, "завтра"))[-1]
    refusal = telegram.fake.messages_to(user.id, token=CUSTOMER_TOKEN)[-1]
    assert refusal.reply_markup is not None
    assert "Отмена" in refusal.reply_markup["inline_keyboard"][0][0]["text"]
    # Typing the word (or /cancel) leaves it too.
    assert "отменили" in (await says(telegram, user, "отмена"))[-1]
    assert await state_of(telegram, user) is None
    assert "Выберите действие" in (await says(telegram, user, "/cancel"))[-1]


async def test_a_birthday_set_while_the_prompt_waits_is_kept_and_the_prompt_ends(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user = await new_customer(telegram)
    await says(telegram, user, "/birthday")
    async with sessions() as session, session.begin():  # an admin sets it meanwhile
        stored = await session.scalar(select(Customer).where(Customer.telegram_id == user.id))
        assert stored is not None
        stored.birthday = date(1990, 5, 9)

    answer = await says(telegram, user, "01.02.1991")

    assert answer == [
        "Дата рождения уже указана: 09.05.1990. Изменить её может только администратор магазина."
    ]
    assert await state_of(telegram, user) is None


async def test_a_first_start_without_the_welcome_discount_greets_a_new_customer(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        await shop_settings.set_value(session, "subscription_discount_enabled", False, MARKETER)

    newcomer = someone("Лена")
    greeting = await says(telegram, newcomer, "/start")
    assert greeting == ["Здравствуйте, Лена! Добро пожаловать в «Мармеладный Дворик» 🍬"]

    await says(telegram, newcomer, "/stop")
    back = await says(telegram, newcomer, "/start")
    assert back[-1].startswith("С возвращением, Лена!")


@pytest.mark.parametrize(
    "typed",
    ["🎟 Мои скидки", "Мои скидки", "мои скидки", "МОИ СКИДКИ", "скидки", "  мои   скидки! "],
)
async def test_my_discounts_is_understood_as_people_type_it(telegram: Telegram, typed: str) -> None:
    user = await new_customer(telegram)
    answer = await says(telegram, user, typed)
    assert answer[0] == "Маша, активных скидок: 1."


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("профиль", "👤 Маша"),
        ("Помощь", "/discounts — мои скидки"),
        ("день рождения", "Напишите дату рождения"),
        ("Отписаться", "Вы отписались"),
    ],
)
async def test_every_menu_button_is_understood_typed_by_hand(
    telegram: Telegram, typed: str, expected: str
) -> None:
    user = await new_customer(telegram)
    assert expected in (await says(telegram, user, typed))[0]


async def test_help_lists_every_command(telegram: Telegram) -> None:
    user = await new_customer(telegram)
    listed = set(re.findall(r"/([a-z]+)", (await says(telegram, user, "/help"))[0]))
    router = customer_bot.create_router()
    commands = {
        command
        for handler in router.message.handlers
        for filter_ in handler.filters or []
        if isinstance(filter_.callback, Command)
        for command in filter_.callback.commands
    }
    assert listed == (commands - {"admin"}) | {"start"}


async def test_the_discount_list_says_what_each_discount_is_for(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user = await new_customer(telegram)
    await give_every_kind(sessions, user.id)

    captions = (await says(telegram, user, "/discounts"))[1:]

    assert len(captions) == len(KIND_LABELS)
    for label in KIND_LABELS.values():
        assert sum(f"% — {label}\n" in caption for caption in captions) == 1, (label, captions)
    assert any("Скидка 15% — персональная" in caption for caption in captions)


async def test_a_renamed_button_still_works_on_keyboards_already_sent(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user = await new_customer(telegram)
    for label in ("🎁 Скидки и подарки", "🍬 Ваши купоны"):
        async with sessions() as session, session.begin():
            await template_admin.update(session, "button_my_discounts", actor=MARKETER, text=label)
    telegram.dvorik.runtime.texts.invalidate()

    # The newest label is what new keyboards show...
    await says(telegram, user, "/profile")
    keyboard = telegram.fake.messages_to(user.id, token=CUSTOMER_TOKEN)[-1].reply_markup
    assert keyboard is not None
    assert keyboard["keyboard"][0][0]["text"] == "🍬 Ваши купоны"
    # ...and every label a customer's keyboard may still show opens the discounts.
    for pressed in ("🍬 Ваши купоны", "🎁 Скидки и подарки", "🎟 Мои скидки"):
        assert (await says(telegram, user, pressed))[0] == "Маша, активных скидок: 1."


def test_a_label_one_button_had_before_belongs_to_the_button_that_has_it_now() -> None:
    """Marketing moved «Подарки» from the discounts button to the birthday button."""
    index = button_labels.press_index(
        current={"button_my_discounts": "🎟 Купоны", "button_birthday": "🎁 Подарки"},
        defaults={"button_my_discounts": "🎟 Мои скидки", "button_birthday": "🎂 День рождения"},
        past={"button_my_discounts": ["🎟 Мои скидки", "🎁 Подарки"]},
    )
    assert index[button_labels.normalized("🎁 Подарки")] == "button_birthday"
    assert index[button_labels.normalized("ПОДАРКИ")] == "button_birthday"
    assert index[button_labels.normalized("мои скидки")] == "button_my_discounts"
    assert index[button_labels.normalized("🎟 Купоны")] == "button_my_discounts"
    # A label of emoji alone is still matched exactly.
    assert button_labels.normalized(" 🎟 ") == "🎟"


@pytest.mark.parametrize("kind", DATABASES)
async def test_a_shop_installed_before_gets_the_new_help_unless_marketing_edited_it(
    kind: str, tmp_path: Path
) -> None:
    engine = await fresh_database(kind, tmp_path, f"dvorik_texts_{os.getpid()}")
    try:
        await run_alembic(engine, "upgrade", "0012")
        async with create_sessionmaker(engine)() as session, session.begin():
            session.add_all(
                [
                    Template(key="help", text=OLD_HELP, parse_mode=ParseMode.PLAIN),
                    Template(key="birthday_prompt", text="Дата?", parse_mode=ParseMode.PLAIN),
                ]
            )
        await run_alembic(engine, "upgrade", "head")
        async with create_sessionmaker(engine)() as session:
            stored = {row.key: row.text for row in await session.scalars(select(Template))}
        assert stored["help"] == templates.defaults()["help"].text
        assert "/discounts" in stored["help"] and "/cancel" in stored["help"]
        assert stored["birthday_prompt"] == "Дата?"  # edited by marketing: left alone
    finally:
        await engine.dispose()
        await drop_database(engine)


OLD_HELP = (
    "Я бот «Мармеладного Дворика».\n"
    "• «Мои скидки» — ваши коды и QR для кассы\n"
    "• «День рождения» — укажите дату и получите подарок\n"
    "• «Профиль» — ваши данные\n"
    "• /stop — отписаться от рассылок, /start — подписаться снова"
)


def today_in_shop(telegram: Telegram) -> str:
    return born_today(telegram.dvorik.runtime.settings.zone)


async def test_a_birthday_entered_on_the_day_brings_the_gift_at_once(telegram: Telegram) -> None:
    """Before: «В день рождения вас ждёт подарок 🎁», and nothing came that year."""
    user = await new_customer(telegram)
    await says(telegram, user, "/birthday")

    answers = await says(telegram, user, today_in_shop(telegram))

    assert answers[0].startswith(f"Спасибо! Запомнили: {today_in_shop(telegram)}. С днём рождения!")
    code = re.search(r"код ([A-Z0-9]{8})", answers[0])
    assert code is not None, answers
    assert "ко дню рождения" in answers[1] and f"Код: {code.group(1)}" in answers[1], answers
    assert await state_of(telegram, user) is None


async def test_an_unsubscribed_customer_is_not_promised_a_gift(telegram: Telegram) -> None:
    user = await new_customer(telegram)
    await says(telegram, user, "/stop")
    await says(telegram, user, "/birthday")

    answers = await says(telegram, user, today_in_shop(telegram))

    assert len(answers) == 1, answers
    assert "подарки ко дню рождения не приходят" in answers[0]
    assert "Отправьте /start" in answers[0]
