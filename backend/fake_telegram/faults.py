"""Fault injection: the failures a broadcaster must survive, on demand and reproducibly.

Faults hit calls addressed to a chat (those with a `chat_id`), which is
where Telegram's real rate limits, blocks and lost chats show up. Rate
faults draw from their own seeded `random.Random`, so the same seed and
the same sequence of calls fail at the same places on every run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal, cast, get_args

from backend.fake_telegram.errors import (
    BotApiError,
    bad_request,
    forbidden,
    server_error,
    too_many_requests,
)

FaultKind = Literal["429", "403", "400", "500", "502"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)


def fault_kind(value: str | int) -> FaultKind:
    """Accept 429 or "429"; anything else is a caller's bug worth a clear message."""
    kind = str(value)
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {value!r}; expected one of {', '.join(FAULT_KINDS)}")
    return cast(FaultKind, kind)


def fault_error(kind: FaultKind, retry_after: int) -> BotApiError:
    if kind == "429":
        return too_many_requests(retry_after)
    if kind == "403":
        return forbidden()
    if kind == "400":
        return bad_request("chat not found")
    return server_error(int(kind))


@dataclass
class ChatFault:
    kind: FaultKind
    remaining: int | None  # None: until cleared
    retry_after: int


@dataclass
class RateFault:
    kind: FaultKind
    probability: float
    rng: random.Random
    retry_after: int


@dataclass
class FaultPlan:
    """What to break and how slow to be; consulted once per chat-addressed call."""

    chats: dict[int, list[ChatFault]] = field(default_factory=dict)
    rates: list[RateFault] = field(default_factory=list)
    latency: float = 0.0
    chat_latency: dict[int, float] = field(default_factory=dict)

    def add_chat(self, chat_id: int, kind: FaultKind, count: int | None, retry_after: int) -> None:
        if count is not None and count < 1:
            raise ValueError("count must be positive (or None for 'until cleared')")
        self.chats.setdefault(chat_id, []).append(ChatFault(kind, count, retry_after))

    def add_rate(self, kind: FaultKind, probability: float, seed: int, retry_after: int) -> None:
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        self.rates.append(RateFault(kind, probability, random.Random(seed), retry_after))

    def set_latency(self, seconds: float, chat_id: int | None) -> None:
        if seconds < 0:
            raise ValueError("latency can't be negative")
        if chat_id is None:
            self.latency = seconds
        elif seconds:
            self.chat_latency[chat_id] = seconds
        else:
            self.chat_latency.pop(chat_id, None)

    def delay_for(self, chat_id: int | None) -> float:
        if chat_id is not None and chat_id in self.chat_latency:
            return self.chat_latency[chat_id]
        return self.latency

    def fault_for(self, chat_id: int) -> BotApiError | None:
        """The error to answer instead of doing the call, if any (consumes counted faults)."""
        queued = self.chats.get(chat_id)
        if queued:
            fault = queued[0]
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining == 0:
                    queued.pop(0)
            return fault_error(fault.kind, fault.retry_after)
        for rate in self.rates:
            if rate.rng.random() < rate.probability:
                return fault_error(rate.kind, rate.retry_after)
        return None
