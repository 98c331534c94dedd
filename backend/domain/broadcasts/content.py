"""What a broadcast may say: its title, its text and the placeholders a text may use.

A text's promo placeholders ({code}, {percent}, {expires_on}) fill in from the
discount each recipient gets, so they need a promo percent; every check here
runs on create and on each edit, on the broadcast as a whole.
"""

from __future__ import annotations

from collections.abc import Iterable

from backend.domain.errors import InvalidTemplate, ValidationFailed
from backend.domain.templates import placeholders_in

MAX_TITLE_LENGTH = 200
MAX_TEXT_LENGTH = 4096  # Telegram's limit for one message
PLACEHOLDERS = frozenset({"first_name", "last_name", "code", "percent", "expires_on"})
# These fill in from the promo discount each recipient gets, so they need a percent.
PROMO_PLACEHOLDERS = frozenset({"code", "percent", "expires_on"})


def check_content(title: str, text: str, promo_percent: int | None) -> str:
    """The cleaned title, once title, text and percent are valid together."""
    clean_title = title.strip()
    if not 1 <= len(clean_title) <= MAX_TITLE_LENGTH:
        raise ValidationFailed(f"a title must be 1 to {MAX_TITLE_LENGTH} characters", field="title")
    if not text.strip():
        raise ValidationFailed("the text cannot be empty", field="text")
    if len(text) > MAX_TEXT_LENGTH:
        raise ValidationFailed(
            f"the text must be at most {MAX_TEXT_LENGTH} characters, it has {len(text)}",
            field="text",
        )
    try:
        used = placeholders_in(text)
    except InvalidTemplate as error:
        raise ValidationFailed(error.message, field="text") from None
    unknown = used - PLACEHOLDERS
    if unknown:
        raise ValidationFailed(
            f"unknown placeholder {_braced(unknown)}; allowed: {_braced(PLACEHOLDERS)}",
            field="text",
        )
    if promo_percent is not None and not 1 <= promo_percent <= 100:
        raise ValidationFailed("the promo percent must be 1 to 100", field="promo_percent")
    promo_used = used & PROMO_PLACEHOLDERS
    if promo_used and promo_percent is None:
        raise ValidationFailed(
            f"the text uses {_braced(promo_used)}: set a promo percent so each customer"
            " gets a code",
            field="promo_percent",
        )
    return clean_title


def _braced(names: Iterable[str]) -> str:
    return ", ".join(f"{{{name}}}" for name in sorted(names))
