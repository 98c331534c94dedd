"""The shared send pace: what a rate limiter promises, and the numbers it keeps.

Every message the shop sends through Telegram (a broadcast's, a discount
notice, an admin's) takes its turn from one `SendRateLimiter`, so the whole
shop stays under Telegram's limits however many workers send at once. The
implementations are in `limiters`; this module is the contract they share.
"""

from __future__ import annotations

from typing import Protocol

# Messages per second a limiter accepts: Telegram's paid broadcasts stop at 1,000/s
# (the shop setting's maximum); load tests against the fake go higher.
MAX_RATE = 100_000.0
# At most one message per second to one chat; the margin absorbs request jitter,
# so arrivals at Telegram are never under a second apart.
CHAT_INTERVAL = 1.05
# The pace runs 2% under the rate: slots exactly 1/rate apart would let the
# jitter between booking and arrival put rate + 1 messages in some second.
PACE_MARGIN = 0.98


class SendRateLimiter(Protocol):
    """One global pace for every worker, one message per second per chat, flood pauses.

    `rate` is messages per second. A limiter built without one follows the shop
    setting `broadcast_send_rate_per_second`, re-read at the start of every run,
    so an owner's change applies to the next broadcast without a restart.

    A slot is booked only at the moment a message is about to go, and only for
    a chat that may receive by then: deliveries held back by their chat never
    hold global slots, so the pace neither stalls nor bunches up afterwards.
    """

    rate: float | None
    pinned: bool  # built with an explicit rate: the shop setting does not apply

    async def before_send(self, chat_id: int) -> None:
        """Return when a message to `chat_id` may go: its chat is free and a slot is booked."""
        ...

    async def slow_down(self, seconds: float) -> None:
        """Telegram answered 429: nobody sends anything for `seconds`."""
        ...

    async def close(self) -> None: ...


def checked_rate(rate: float | None) -> float | None:
    if rate is not None and not 0 < rate <= MAX_RATE:
        raise ValueError(f"a send rate must be above 0 and at most {MAX_RATE:g} per second")
    return rate


def interval(rate: float | None) -> float:
    """Seconds between two booked slots: a little over 1/rate (see `PACE_MARGIN`)."""
    if rate is None:
        raise RuntimeError("the send rate is not set")
    return 1.0 / (rate * PACE_MARGIN)
