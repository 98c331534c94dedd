"""What both Mini Apps say of a discount and of money, in the JSON the pages read.

Dates are ISO days (the page formats them), money is a string with kopecks
("1250.00": no float rounding), and labels are the bots' templates.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from backend.domain.clock import last_valid_day
from backend.domain.models import Discount
from backend.domain.money import bill
from backend.telegram.texts import Texts

Json = dict[str, Any]


async def discount_facts(texts: Texts, discount: Discount) -> Json:
    """The code, what it gives and for what, and its last day."""
    return {
        "code": discount.code,
        "percent": discount.percent,
        "kind": discount.kind.value,
        "kindLabel": (await texts.kind(discount.kind)).plain,
        "lastDay": last_valid_day(discount.expires_at, texts.zone).isoformat(),
    }


def money(amount: Decimal, percent: int) -> Json:
    """The purchase, the discount off it and the price to pay."""
    purchase = bill(amount, percent)
    return {
        "amount": f"{purchase.amount:.2f}",
        "discount": f"{purchase.discount:.2f}",
        "toPay": f"{purchase.to_pay:.2f}",
    }
