"""Channel look-ups over the Bot API: does a channel exist, is a user in it.

The domain decides what a channel requirement means (`backend.domain.channels`);
this is its `ChannelLookup`, asked by the customer bot (does the customer have
to join first?) and by the admin API (is the channel the marketer typed real?).
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError

from backend.domain.channels import ChannelInfo, ChannelLookupFailed, Membership


class TelegramChannels:
    """`ChannelLookup` over the Bot API, asked as `bot` (the customer bot, which checks).

    "chat not found" and refusals (the bot cannot see the chat) mean no channel;
    anything else (Telegram unreachable, slow, or refusing our token) is a
    failed lookup, never a verdict about the channel.
    """

    MEMBER_STATUSES = ("creator", "administrator", "member", "restricted")
    OUTSIDE_STATUSES = ("left", "kicked")

    def __init__(self, bot: Bot, *, timeout: float = 10.0) -> None:
        self.bot = bot
        self.timeout = timeout

    async def find_channel(self, channel: str) -> ChannelInfo | None:
        try:
            chat = await self.bot.get_chat(chat_id=channel, request_timeout=int(self.timeout))
        except (TelegramBadRequest, TelegramForbiddenError):
            return None
        except TelegramAPIError as error:
            raise ChannelLookupFailed(error.message) from None
        return ChannelInfo(id=chat.id, type=chat.type, title=chat.title)

    async def membership(self, channel: str, user_id: int) -> Membership:
        try:
            member = await self.bot.get_chat_member(
                chat_id=channel, user_id=user_id, request_timeout=int(self.timeout)
            )
        except TelegramAPIError:
            return Membership.UNKNOWN
        if member.status in self.MEMBER_STATUSES:
            return Membership.MEMBER
        if member.status in self.OUTSIDE_STATUSES:
            return Membership.NOT_MEMBER
        return Membership.UNKNOWN
