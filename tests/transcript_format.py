"""Reading a transcript (tests/transcripts/*.txt) and matching the bots' lines against it.

The format is described in tests/transcripts.py, which plays a transcript;
here are its parts: the people and steps of a file, and an expected bot line
turned into a pattern (known values literal, new ones captured once).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from backend.fake_telegram import SentMessage
from tests.telegram_world import CASHIER_TOKEN, CUSTOMER_TOKEN

FOLDER = Path(__file__).parent / "transcripts"
ROLES = {"Покупатель": CUSTOMER_TOKEN, "Кассир": CASHIER_TOKEN}

# What a captured value may look like, by the first word of its name.
SHAPES = {
    "код": r"[A-Z0-9]{8}",
    "приглашение": r"\S+",
    "время": r"\d{2}:\d{2}",
    "секунды": r"\d+",
    "дата": r"\d{2}\.\d{2}\.\d{4}",
    "срок": r"\d{2}\.\d{2}\.\d{4}",
}
PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
PHOTO = re.compile(r"^\[QR-код \{([^{}]+)\}\]\s*")


class TranscriptError(AssertionError):
    """Where a transcript and the bots part ways, said as the transcript says it."""


@dataclass
class Line:
    number: int
    text: str


@dataclass
class Expected:
    line: Line
    recipient: str
    text: str


@dataclass
class Step:
    line: Line
    kind: str  # ">" a person acts, "*" staff act
    expected: list[Expected] = field(default_factory=list)


@dataclass
class Transcript:
    path: Path
    people: dict[str, str]  # name -> role
    steps: list[Step]


def parse(path: Path) -> Transcript:
    people: dict[str, str] = {}
    steps: list[Step] = []
    actor: str | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = Line(number, raw.strip())
        if not line.text or line.text.startswith("#"):
            continue
        if raw[:1].isspace() and steps and steps[-1].expected and not raw.lstrip().startswith("<"):
            steps[-1].expected[-1].text += "\n" + line.text
            continue
        if line.text.startswith(">"):
            actor = line.text[1:].split()[0].rstrip(":")  # names are one word
            steps.append(Step(line, ">"))
        elif line.text.startswith("*"):
            steps.append(Step(line, "*"))
        elif line.text.startswith("<"):
            head, _, text = line.text[1:].partition(":")
            recipient = head.split("→")[1].strip() if "→" in head else actor
            if not steps or recipient is None:
                raise TranscriptError(f"{path.name}:{number}: an answer before anything was done")
            steps[-1].expected.append(Expected(line, recipient, text.strip()))
        else:
            role, _, name = line.text.partition(":")
            if role.strip() not in ROLES or not name.strip():
                raise TranscriptError(f"{path.name}:{number}: cannot read «{line.text}»")
            people[name.strip()] = role.strip()
    return Transcript(path, people, steps)


def transcripts() -> list[Path]:
    return sorted(FOLDER.glob("*.txt"))


def expected_pattern(text: str, known: Callable[[str], str | None]) -> tuple[str, dict[str, str]]:
    """An expected bot line as a regex: known values literal, new ones captured once.

    Returns the pattern and its groups' placeholder names. A line ending with
    «…» only has to start so.
    """
    starts_with = text.endswith("…")
    text = readable(text.removesuffix("…") if starts_with else text)
    parts: list[str] = []
    new: dict[str, str] = {}  # group -> placeholder name
    at = 0
    for match in PLACEHOLDER.finditer(text):
        parts.append(re.escape(text[at : match.start()]))
        name = match.group(1)
        value = known(name)
        if value is not None:
            parts.append(re.escape(value))
        elif name in new.values():
            group = next(g for g, n in new.items() if n == name)
            parts.append(f"(?P={group})")
        else:
            group = f"g{len(new)}"
            shape = SHAPES.get(name.split()[0].rstrip("0123456789"), r".+?")
            parts.append(f"(?P<{group}>{shape})")
            new[group] = name
        at = match.end()
    parts.append(re.escape(text[at:]))
    return "".join(parts) + ("" if starts_with else r"\Z"), new


def readable(text: str | None) -> str:
    return (text or "").replace("\u00a0", " ").replace("\u202f", " ")


def show(sent: list[SentMessage]) -> str:
    return (
        "\n".join(
            ("[фото] " if item.method == "sendPhoto" else "")
            + readable(item.caption if item.method == "sendPhoto" else item.text)
            for item in sent
        )
        or "(ничего)"
    )
