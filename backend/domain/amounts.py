"""What a cashier types at the till: a discount code and, maybe, the purchase amount.

Cashiers type as they are used to, not as a parser would like: the code in
halves or with dashes, the amount with a space between thousands (often a
non-breaking one pasted from a receipt), a comma or a dot before the kopecks
and a ruble sign or «р»/«руб.» after it. All of that is read here, once, so
the till bot only asks "which code, which amount".

Reading also tells a slip from a guess. A line that cannot be a code (a
greeting, a lone amount, seven characters) raises `NotACode`, and the till
answers with what to type without touching the look-up limit, which exists
to stop guessing codes, not to punish typos. Only eight letters or digits are
looked up (and counted), even with characters no code has (0, O, 1, I, L):
that is how a code is mistyped, and a guesser's try looks the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from backend.domain.codes import CODE_LENGTH, LOOK_ALIKES
from backend.domain.errors import ValidationFailed

# A purchase at a sweets shop is below this; more is a slip (a code typed twice).
MAX_AMOUNT = Decimal("10000000")
# Longer input is no till line; it is refused before any other work.
MAX_LINE_LENGTH = 100
# What may stand between the halves of a code: its look stays, these go.
CODE_SEPARATORS = str.maketrans("", "", "-\u2010\u2011\u2012\u2013\u2014")
# The spaces a number is grouped with: plain, non-breaking, narrow, thin, figure.
_SPACE = "[ \u00a0\u202f\u2009\u2007]"
# Rubles after the number, as cashiers write them: ₽, р, р., руб, руб., рублей, RUB.
_CURRENCY = re.compile(rf"{_SPACE}*(?:₽|р\.?|руб\.?|рубл(?:ь|я|ей)\.?|rub\.?)$", re.IGNORECASE)
# Thousands separated by one space or not at all; kopecks after a comma or a dot.
_NUMBER = re.compile(
    rf"(?P<whole>[0-9]{{1,3}}(?:{_SPACE}[0-9]{{3}})+|[0-9]+)(?:[.,](?P<fraction>[0-9]{{1,2}}))?"
)
# More digits before the kopecks than any amount below MAX_AMOUNT has.
_MAX_WHOLE_DIGITS = 8


class TillInputError(ValidationFailed):
    """A till line that cannot be read; the cashier is told what to type instead."""


class NotACode(TillInputError):
    """No code in the line: it does not count as a look-up."""


class UnreadableAmount(TillInputError):
    """What follows a code is no purchase amount the till accepts (`details["code"]`: the code)."""


@dataclass(frozen=True)
class TillLine:
    """A till line read: the code as a stored one would look, and the amount if typed."""

    code: str
    amount: Decimal | None


def parse_till_line(text: str) -> TillLine:
    """The code (its first eight characters, spaces and dashes aside) and the amount after it.

    Raises NotACode or UnreadableAmount; never anything else, whatever the text.
    """
    if len(text) > MAX_LINE_LENGTH:
        raise NotACode("a till line is at most MAX_LINE_LENGTH characters", field="code")
    words = text.split()  # every Unicode space, the non-breaking ones too
    code, taken = "", 0
    while taken < len(words) and len(code) < CODE_LENGTH:
        code += words[taken].translate(CODE_SEPARATORS).upper().translate(LOOK_ALIKES)
        taken += 1
    if len(code) != CODE_LENGTH or not (code.isascii() and code.isalnum()):
        raise NotACode("a code is eight Latin letters or digits", field="code")
    rest = " ".join(words[taken:])
    try:
        return TillLine(code, parse_amount(rest) if rest else None)
    except UnreadableAmount as error:  # the till repeats the code it did read
        raise UnreadableAmount(error.message, field="amount", code=code) from None


def parse_amount(text: str) -> Decimal:
    """A purchase amount as a Russian cashier types it: «1 250,50 ₽», «1250р», «1250.50».

    Raises UnreadableAmount for anything else, and for amounts that are not
    more than zero or not below MAX_AMOUNT.
    """
    number = _CURRENCY.sub("", text.strip()) if len(text) <= MAX_LINE_LENGTH else ""
    match = _NUMBER.fullmatch(number)
    whole = "".join(ch for ch in match["whole"] if ch.isdigit()).lstrip("0") if match else ""
    if match is None or len(whole) > _MAX_WHOLE_DIGITS:
        raise UnreadableAmount("a purchase amount is a number of rubles", field="amount")
    amount = Decimal(f"{whole or 0}.{(match['fraction'] or '').ljust(2, '0')}")
    if not Decimal(0) < amount < MAX_AMOUNT:
        raise UnreadableAmount(
            "a purchase amount is above zero and below the limit", field="amount"
        )
    return amount
