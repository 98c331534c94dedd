"""The Telegram channel a customer must join for the subscription discount.

Only Telegram knows whether a channel exists and who is in it, so the domain
asks through a port, `ChannelLookup`, which `backend/telegram/channels.py`
implements over the Bot API. Two questions are asked: "is this a channel?"
when the owner sets one (`shop_settings`), and "has this customer joined?"
at /start (`must_join`).

A channel is written as Telegram writes it: `@name` (5 to 32 letters, digits
or underscores, starting with a letter) or a numeric id (-100…), the form a
private channel has. Anything else, a t.me link or a 100,000-character
string, never reaches Telegram nor a customer's chat.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

log = logging.getLogger("dvorik.domain.channels")

CHANNEL_NAME = r"@[A-Za-z][A-Za-z0-9_]{4,31}"
CHANNEL_ID = r"-100[0-9]{1,13}"
CHANNEL = re.compile(rf"{CHANNEL_NAME}|{CHANNEL_ID}")
MAX_LENGTH = 33  # "@" and 32 characters; an id is shorter
SHAPE = (
    "an @name of 5 to 32 Latin letters, digits or underscores starting with a letter "
    "(e.g. @marmelad_dvorik), or a channel id such as -1001234567890"
)
_LINK = re.compile(r"^(?:https?://)?(?:t\.me|telegram\.me)/(?P<name>[A-Za-z0-9_]+)/?$")


@dataclass(frozen=True)
class ChannelInfo:
    """A chat as Telegram describes it; `type` is Telegram's ("channel", "private", …)."""

    id: int
    type: str
    title: str | None = None


class Membership(Enum):
    MEMBER = "member"
    NOT_MEMBER = "not_member"
    UNKNOWN = "unknown"  # Telegram could not say: the channel is gone, the bot left it, …


class ChannelLookupFailed(Exception):
    """Telegram could not be asked (unreachable, timed out, our token refused)."""


class ChannelLookup(Protocol):
    async def find_channel(self, channel: str) -> ChannelInfo | None:
        """The chat behind `@name` or an id; None if Telegram knows none the bot can see.

        Raises `ChannelLookupFailed` when Telegram cannot be asked.
        """

    async def membership(self, channel: str, user_id: int) -> Membership:
        """Whether the user is in the channel; UNKNOWN when Telegram cannot tell (never raises)."""


def shape_problem(value: str) -> str | None:
    """Why `value` is not written as a channel, or None if it is."""
    if CHANNEL.fullmatch(value):
        return None
    link = _LINK.match(value)
    if link and CHANNEL.fullmatch(f"@{link['name']}"):
        return f"write the channel as @{link['name']}, not as a link"
    return f"must be {SHAPE}"


async def must_join(channels: ChannelLookup, channel: str, user_id: int) -> bool:
    """Whether the customer has to join `channel` before subscribing ("" : no channel).

    A check Telegram cannot answer (the channel deleted, the bot removed from
    it, Telegram down) lets the customer through and is logged: a setting
    gone stale must not stop every new customer at /start.
    """
    if not channel:
        return False
    membership = await channels.membership(channel, user_id)
    if membership is Membership.UNKNOWN:
        log.warning(
            "could not check whether user %s joined %s; letting them subscribe", user_id, channel
        )
        return False
    return membership is Membership.NOT_MEMBER
