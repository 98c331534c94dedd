"""Chats as the fake remembers them: people, messages, blocks and what bots sent.

Message ids are per chat and shared by both sides, as in a real private chat,
so a button pressed on "message 3" really refers to the bot's third message
there, and edits or deletes of messages that never existed fail like on Telegram.

Channels exist only when a test or demo adds them (`add_channel`); `find_chat`
finds them by "@username" or id for `getChat` and, like Telegram, answers
"chat not found" for anything it does not know.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from collections import defaultdict
from typing import Any

from backend.fake_telegram.errors import bad_request
from backend.fake_telegram.models import FakeUser, SentMessage

CALLBACK_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
FIRST_CHANNEL_ID = -1_001_500_000_000  # Telegram's channel ids are -100 followed by the id


class ChatLog:
    """Users, per-chat message stores and the record of everything each bot did."""

    def __init__(self, *, require_known_chats: bool = False) -> None:
        self.require_known_chats = require_known_chats
        self.users: dict[int, FakeUser] = {}
        self.blocked: set[tuple[str, int]] = set()
        self._next_message_id: dict[tuple[str, int], int] = defaultdict(lambda: 1)
        self._messages: dict[tuple[str, int, int], dict[str, Any]] = {}
        self._records: dict[int, list[SentMessage]] = defaultdict(list)
        self._callbacks: dict[str, tuple[str, int]] = {}
        self._callback_seq = 0
        self._recorded = asyncio.Event()
        self.channels: dict[int, dict[str, Any]] = {}
        self._channels_added = 0

    # people and chats

    def remember(self, user: FakeUser) -> None:
        self.users[user.id] = user

    def chat(self, chat_id: int) -> dict[str, Any]:
        """The Chat object for an id; unknown ids are private chats unless strict."""
        if chat_id in self.channels:
            return dict(self.channels[chat_id])
        if chat_id in self.users:
            return self.users[chat_id].as_chat()
        if self.require_known_chats:
            raise bad_request("chat not found")
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": f"Chat {chat_id}"}

    def user(self, user_id: int) -> dict[str, Any]:
        if user_id in self.users:
            return self.users[user_id].as_user()
        if self.require_known_chats:
            raise bad_request("user not found")
        return {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}

    # channels

    def add_channel(self, username: str, *, title: str | None = None) -> dict[str, Any]:
        """A public channel: bots find it by "@username" or by the id in the answer."""
        name = username.removeprefix("@")
        chat_id = FIRST_CHANNEL_ID - self._channels_added
        self._channels_added += 1
        chat: dict[str, Any] = {
            "id": chat_id,
            "type": "channel",
            "title": title or name,
            "username": name,
        }
        self.channels[chat_id] = chat
        return dict(chat)

    def remove_channel(self, username: str) -> None:
        """The channel is deleted: from now on it is "chat not found"."""
        self.channels = {
            chat_id: chat
            for chat_id, chat in self.channels.items()
            if chat["username"].lower() != username.removeprefix("@").lower()
        }

    def find_chat(self, reference: object) -> dict[str, Any]:
        """A chat as getChat finds it: a channel by "@username" (any case) or id, or the
        private chat of someone who wrote; anything else is "chat not found"."""
        if isinstance(reference, str) and reference.startswith("@"):
            name = reference[1:].lower()
            for chat in self.channels.values():
                if chat["username"].lower() == name:
                    return dict(chat)
            raise bad_request("chat not found")
        try:
            chat_id = int(str(reference))
        except ValueError:
            raise bad_request("chat not found") from None
        if chat_id in self.channels or chat_id in self.users:
            return self.chat(chat_id)
        raise bad_request("chat not found")

    # messages

    def next_message_id(self, token: str, chat_id: int) -> int:
        message_id = self._next_message_id[(token, chat_id)]
        self._next_message_id[(token, chat_id)] = message_id + 1
        return message_id

    def store(self, token: str, message: dict[str, Any]) -> None:
        key = (token, message["chat"]["id"], message["message_id"])
        self._messages[key] = message

    def message(self, token: str, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """A copy of a stored message, so callers can't change history by accident."""
        stored = self._messages.get((token, chat_id, message_id))
        return copy.deepcopy(stored) if stored is not None else None

    def forget(self, token: str, chat_id: int, message_id: int) -> bool:
        return self._messages.pop((token, chat_id, message_id), None) is not None

    # what bots did

    def record(self, sent: SentMessage) -> None:
        self._records[sent.chat_id].append(sent)
        self._recorded.set()
        self._recorded = asyncio.Event()

    def records(self, chat_id: int, token: str | None = None) -> list[SentMessage]:
        return [sent for sent in self._records.get(chat_id, []) if token in (None, sent.token)]

    async def wait_for(
        self, chat_id: int, count: int, seconds: float, token: str | None
    ) -> list[SentMessage]:
        deadline = time.monotonic() + seconds
        while len(found := self.records(chat_id, token)) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"chat {chat_id} got {len(found)} of {count} expected bot calls "
                    f"in {seconds}s: {[(sent.method, sent.text) for sent in found]}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._recorded.wait(), remaining)
        return found

    # callback queries

    def new_callback(self, token: str, chat_id: int) -> str:
        self._callback_seq += 1
        query_id = str(4_000_000_000_000_000 + self._callback_seq)
        self._callbacks[query_id] = (token, chat_id)
        return query_id

    def expect_callback(self, query_id: str, token: str, chat_id: int) -> None:
        self._callbacks[query_id] = (token, chat_id)

    def answer_callback(self, token: str, query_id: str | None) -> int:
        """The chat a callback query came from; each query can be answered once."""
        pending = self._callbacks.get(query_id or "")
        if pending is None or pending[0] != token:
            raise bad_request(CALLBACK_QUERY_INVALID)
        del self._callbacks[query_id or ""]
        return pending[1]
