"""Rubles as a Russian cashier reads them, and what a discount leaves to pay.

The till shows «1 250,50 ₽», not «1250.50»: digits grouped by thousands with
a non-breaking space, a comma before the kopecks, the ruble sign after. The
format comes from CLDR through babel rather than from hand-written rules, so
it is the one every Russian receipt and bank app uses. The price after the
discount is computed here too, once, so the cashier never works it out by
hand and the till and its daily list agree to the kopeck.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency

KOPECK = Decimal("0.01")


def rubles(amount: Decimal) -> str:
    """«1 250,50 ₽» (the spaces are non-breaking, so a line never splits inside an amount)."""
    return format_currency(amount, "RUB", locale="ru_RU")


@dataclass(frozen=True)
class Bill:
    """A purchase with a discount: what it cost, what is taken off, what is paid."""

    amount: Decimal
    discount: Decimal
    to_pay: Decimal


def bill(amount: Decimal, percent: int) -> Bill:
    """The discount rounded to the kopeck, half up (a half kopeck goes to the customer)."""
    discount = (amount * percent / 100).quantize(KOPECK, rounding=ROUND_HALF_UP)
    return Bill(amount=amount, discount=discount, to_pay=amount - discount)
