"""One recipient's text: the broadcast's template filled with their name and promo code.

Recipients are read as plain columns (`Recipient`), not ORM objects: the
engine renders every message of a broadcast here, on its hot path.
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from typing import NamedTuple

from backend.domain import templates
from backend.domain.clock import last_valid_day
from backend.domain.models import Customer, CustomerStatus, Discount, ParseMode


class Recipient(NamedTuple):
    """What a send needs of a customer: read as plain columns, not ORM objects (hot path)."""

    id: int
    telegram_id: int
    first_name: str | None
    last_name: str | None
    status: CustomerStatus


RECIPIENT_COLUMNS = (
    Customer.id,
    Customer.telegram_id,
    Customer.first_name,
    Customer.last_name,
    Customer.status,
)


def render_for(
    template_text: str,
    customer: Recipient,
    discount: Discount | None,
    *,
    parse_mode: ParseMode = ParseMode.PLAIN,
    zone: tzinfo = UTC,
) -> str:
    """The broadcast text for one customer; values are escaped for the parse mode.

    Promo placeholders stay visible as {code} etc. when there is no discount
    (the broadcast checks refuse such texts up front; this never crashes a send).
    """
    values: dict[str, str] = {
        "first_name": customer.first_name or "",
        "last_name": customer.last_name or "",
    }
    if discount is not None:
        values["code"] = discount.code
        values["percent"] = str(discount.percent)
        values["expires_on"] = last_valid_day(discount.expires_at, zone).strftime("%d.%m.%Y")
    return templates.fill_escaped(template_text, values, parse_mode)
