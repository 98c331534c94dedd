"""customer bot texts: /help lists the commands, prompts offer «Отмена», codes say their kind

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 19:10:00

`dvorik migrate` stores every shipped default template, so a shop installed
before issue 13 keeps the old «help» (which listed no commands), the old
birthday prompt (which did not mention «Отмена») and the old discount line,
the unused QR caption, and discount texts that did not say a code is valid
through the day they show. A stored text still equal to the old default was
never edited by marketing: it becomes the new default. An edited text is
left alone. The texts are written out here, not read from the templates
file, so this step does the same thing whenever it runs.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# key: (text before issue 13, text after)
CHANGED = {
    "help": (
        "Я бот «Мармеладного Дворика».\n"
        "• «Мои скидки» — ваши коды и QR для кассы\n"
        "• «День рождения» — укажите дату и получите подарок\n"
        "• «Профиль» — ваши данные\n"
        "• /stop — отписаться от рассылок, /start — подписаться снова",
        "Я бот «Мармеладного Дворика». Что я умею:\n"
        "/discounts — мои скидки: коды и QR для кассы\n"
        "/birthday — указать день рождения и получить подарок\n"
        "/profile — мой профиль\n"
        "/stop — отписаться от рассылок\n"
        "/start — подписаться снова\n"
        "/cancel — отменить ввод\n"
        "/help — эта подсказка\n"
        "Или нажимайте кнопки меню внизу 👇",
    ),
    "birthday_prompt": (
        "Напишите дату рождения в формате ДД.ММ.ГГГГ, например 09.05.1990.",
        "Напишите дату рождения в формате ДД.ММ.ГГГГ, например 09.05.1990. "
        "Передумали — нажмите «Отмена».",
    ),
    "discount_line": (
        "🎟 {percent}% — {kind}\nКод: {code}\nДействует до {expires_on}",
        "🎟 Скидка {percent}% — {kind}\nКод: {code}\nДействует до {expires_on} включительно\n"
        "Покажите QR-код на кассе.",
    ),
    # A shop's name is its address («Алеутская, 17»): «в магазине Алеутская» read oddly.
    "discount_redeemed_notice": (
        "{first_name}, ваша скидка {percent}% по коду {code} использована в магазине {store}. "
        "Спасибо за покупку! 🍭",
        "{first_name}, ваша скидка {percent}% по коду {code} использована (магазин: {store}). "
        "Спасибо за покупку! 🍭",
    ),
    # Codes are valid through the day shown (migration 0011): say so.
    "welcome_discount": (
        "{first_name}, спасибо за подписку! Ваша скидка {percent}% — код {code}. "
        "Покажите его на кассе до {expires_on}.",
        "{first_name}, спасибо за подписку! Ваша скидка {percent}% — код {code}. "
        "Покажите его на кассе до {expires_on} включительно.",
    ),
    "birthday_discount": (
        "{first_name}, с днём рождения! 🎂 Дарим скидку {percent}% — код {code}, "
        "действует до {expires_on}.",
        "{first_name}, с днём рождения! 🎂 Дарим скидку {percent}% — код {code}, "
        "действует до {expires_on} включительно.",
    ),
    "manual_discount": (
        "{first_name}, для вас персональная скидка {percent}% — код {code}, "
        "действует до {expires_on}.",
        "{first_name}, для вас персональная скидка {percent}% — код {code}, "
        "действует до {expires_on} включительно. Покажите QR-код на кассе.",
    ),
}
# The QR caption is now `discount_line`; the unedited old row goes.
RETIRED = {
    "discount_qr_caption": (
        "Скидка {percent}% · код {code} · до {expires_on}. Покажите QR-код на кассе."
    )
}

templates = sa.table("templates", sa.column("key", sa.String), sa.column("text", sa.Text))


def _replace(key: str, old: str, new: str) -> None:
    op.execute(
        templates.update().where(templates.c.key == key, templates.c.text == old).values(text=new)
    )


def upgrade() -> None:
    for key, (old, new) in CHANGED.items():
        _replace(key, old, new)
    for key, old in RETIRED.items():
        op.execute(templates.delete().where(templates.c.key == key, templates.c.text == old))


def downgrade() -> None:
    for key, (old, new) in CHANGED.items():
        _replace(key, new, old)
    # The old code asks for the caption by name; without a row it reads the shipped default.
