"""Which menu button a customer pressed, told from the text the press sends.

A reply-keyboard press reaches the bot as the button's label and nothing
else, and the keyboard on a customer's phone keeps the label it was sent
with. So a button is identified by its template key (a stable id), and a
press is matched against every label that key ever had: the label now, the
shipped default, every label the audit log shows it had before, and the
other spellings marketing lists for it (`<key>_spellings`). Renaming a button
in the SPA therefore never breaks keyboards already sent. Matching ignores
case, emoji and punctuation, so «мои скидки» typed by hand is the same press
as «🎟 Мои скидки».
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import markup
from backend.domain.errors import InvalidMarkup
from backend.domain.models import AuditEntry, ParseMode

BUTTON_PREFIX = "button_"
SPELLINGS_SUFFIX = "_spellings"


def is_button(key: str) -> bool:
    """A template key that labels a button (not its list of other spellings)."""
    return key.startswith(BUTTON_PREFIX) and not key.endswith(SPELLINGS_SUFFIX)


def normalized(text: str) -> str:
    """`text` as a comparison key: lower case, ё as е, only letters, digits and single spaces.

    A label of emoji or signs alone has no letters to compare: it stays as
    it is (without surrounding spaces), so its exact press still matches.
    """
    kept = "".join(ch if ch.isalnum() else " " for ch in text.casefold().replace("ё", "е"))
    return " ".join(kept.split()) or text.strip()


def spellings(listed: str) -> list[str]:
    """The comma- or newline-separated spellings in a `<key>_spellings` template."""
    return [piece.strip() for piece in listed.replace("\n", ",").split(",") if piece.strip()]


async def past_labels(session: AsyncSession, keys: Iterable[str]) -> dict[str, list[str]]:
    """Every text the audit log shows the button templates `keys` had, oldest first."""
    wanted = [key for key in keys if is_button(key)]
    if not wanted:
        return {}
    rows = await session.execute(
        select(AuditEntry.entity_id, AuditEntry.before, AuditEntry.after)
        .where(AuditEntry.entity_type == "template", AuditEntry.entity_id.in_(wanted))
        .order_by(AuditEntry.id)
    )
    found: dict[str, list[str]] = {}
    for key, before, after in rows:
        for snapshot in (before, after):
            label = _label_in(snapshot)
            if label is not None and key is not None:
                found.setdefault(key, []).append(label)
    return found


def _label_in(snapshot: object) -> str | None:
    """The label a template snapshot showed: its text without markup, as the button had it."""
    if not isinstance(snapshot, dict) or not isinstance(snapshot.get("text"), str):
        return None
    text: str = snapshot["text"]
    try:
        return markup.visible_text(text, ParseMode(snapshot.get("parse_mode") or "plain"))
    except (ValueError, InvalidMarkup):
        return text


def press_index(
    current: Mapping[str, str],
    defaults: Mapping[str, str],
    past: Mapping[str, list[str]],
) -> dict[str, str]:
    """Normalized label -> button key, over every label each button is known by.

    If two buttons ever shared a label, the closer tie wins: a label a button
    has now beats a listed spelling, which beats a shipped default, which
    beats a label from before a rename.
    """
    tiers: list[list[tuple[str, str]]] = [
        [(key, text) for key, text in current.items() if is_button(key)],
        [
            (key.removesuffix(SPELLINGS_SUFFIX), spelling)
            for key, text in current.items()
            if key.startswith(BUTTON_PREFIX) and key.endswith(SPELLINGS_SUFFIX)
            for spelling in spellings(text)
        ],
        [(key, text) for key, text in defaults.items() if is_button(key)],
        [(key, text) for key, texts in past.items() for text in texts],
    ]
    index: dict[str, str] = {}
    for tier in tiers:
        for key, label in tier:
            spelled = normalized(label)
            if spelled:
                index.setdefault(spelled, key)
    return index
