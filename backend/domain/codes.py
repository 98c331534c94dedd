"""Discount codes a cashier can read aloud and type without mistakes.

Eight characters from an alphabet with no look-alikes (no 0/O, 1/I/L), drawn
with `secrets`: 31^8 ≈ 8.5·10^11 codes, so guessing one is hopeless and a
collision (caught by the unique index, then redrawn) is rare.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8

Chooser = Callable[[str], str]


def generate_code(choose: Chooser = secrets.choice) -> str:
    """A fresh code; `choose` is replaceable only so demo data can be deterministic."""
    return "".join(choose(ALPHABET) for _ in range(CODE_LENGTH))


# The Cyrillic capitals drawn like our Latin ones: a cashier whose keyboard is
# in Russian types А for A, and gets the code they read, not "not found".
LOOK_ALIKES = str.maketrans("АВЕКМНРСТУХ", "ABEKMHPCTYX")
IGNORED = frozenset(" -\t")


def normalize_code(raw: str) -> str | None:
    """What a cashier typed, as a stored code would look, or None if it cannot be one.

    Spaces and dashes are ignored, case does not matter and Cyrillic look-alikes
    count as their Latin twins, so "abcd-efgh" and "АВСD ЕFGН" find ABCDEFGH.
    """
    code = "".join(ch for ch in raw.upper().translate(LOOK_ALIKES) if ch not in IGNORED)
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code
