"""`FakeTelegram`: the whole fake Bot API in memory, usable in-process or behind HTTP.

Tests drive it directly (`await fake.send_text(...)`, `fake.messages_to(...)`),
the HTTP server in `server.py` is a thin shell around `call()` and the same
helpers, so what a test sees in-process is exactly what a bot sees over HTTP.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from backend.fake_telegram import menu_buttons  # noqa: F401 - registers its methods
from backend.fake_telegram.chats import ChatLog
from backend.fake_telegram.errors import BotApiError, method_not_found, unauthorized
from backend.fake_telegram.faults import FaultKind, FaultPlan, fault_kind
from backend.fake_telegram.methods import METHODS, chat_id_of
from backend.fake_telegram.models import BotState, Delivery, FakeUser, SentMessage, bot_id_of
from backend.fake_telegram.params import Params
from backend.fake_telegram.updates import (
    allowed,
    callback_query,
    inaccessible_message,
    my_chat_member,
    sticker_message,
    text_message,
)
from backend.fake_telegram.webhook import post_update

__all__ = ["Delivery", "FakeTelegram", "FakeUser", "SentMessage"]


class FakeTelegram:
    """In-memory Telegram: bots by token, chats, delivered updates, and injected faults.

    `tokens`: if given, only these bots exist (others get 401); otherwise any
    well-formed token is a bot whose id is the token's numeric prefix.
    `require_known_chats`: answer "chat not found" for chats no user wrote from.
    """

    def __init__(
        self,
        tokens: Iterable[str] | None = None,
        *,
        require_known_chats: bool = False,
        webhook_timeout: float = 10.0,
    ) -> None:
        self.known_tokens = frozenset(tokens) if tokens is not None else None
        for token in self.known_tokens or ():
            if bot_id_of(token) is None:
                raise ValueError(f"malformed bot token {token!r}")
        self.require_known_chats = require_known_chats
        self.webhook_timeout = webhook_timeout
        self._init_state()

    def _init_state(self) -> None:
        self.bots: dict[str, BotState] = {}
        self.chats = ChatLog(require_known_chats=self.require_known_chats)
        self.faults = FaultPlan()
        self.sent_count = 0
        self.faults_injected = 0
        self.forbidden_count = 0
        self.method_counts: Counter[str] = Counter()
        self.error_counts: Counter[int] = Counter()

    def reset(self) -> None:
        """Forget everything (bots, webhooks, chats, faults, counters); wake any poller."""
        for bot in self.bots.values():
            bot.poll_generation += 1
            bot.notify()
        self._init_state()

    # bots

    def bot(self, token: str) -> BotState:
        """The bot behind a token, created on first use; 401 if unknown or malformed."""
        if token in self.bots:
            return self.bots[token]
        if self.known_tokens is not None and token not in self.known_tokens:
            raise unauthorized()
        return self.add_bot(token)

    def add_bot(
        self, token: str, *, username: str | None = None, first_name: str | None = None
    ) -> BotState:
        bot_id = bot_id_of(token)
        if bot_id is None:
            raise unauthorized()
        bot = BotState(
            token=token,
            id=bot_id,
            username=username or f"dvorik_{bot_id}_bot",
            first_name=first_name or f"Dvorik Bot {bot_id}",
        )
        self.bots[token] = bot
        return bot

    # the Bot API

    async def call(self, token: str, method: str, params: Mapping[str, Any]) -> Any:
        """Run one Bot API call; returns `result` or raises `BotApiError` as Telegram would."""
        try:
            bot = self.bot(token)
            if method.lower() not in METHODS:
                self.method_counts[method] += 1
                raise method_not_found()
            name, handler = METHODS[method.lower()]
            self.method_counts[name] += 1
            p = Params(params)
            chat_id = chat_id_of(p)
            if delay := self.faults.delay_for(chat_id):
                await asyncio.sleep(delay)
            if chat_id is not None and (fault := self.faults.fault_for(chat_id)):
                self.faults_injected += 1
                raise fault
            return await handler(self, bot, p)
        except BotApiError as error:
            self.error_counts[error.error_code] += 1
            raise

    # faults

    def fail_chat(
        self,
        chat_id: int,
        kind: FaultKind | str | int,
        count: int | None = None,
        retry_after: int = 1,
    ) -> None:
        """The next `count` calls to this chat (all, if None, until cleared) fail with `kind`."""
        self.faults.add_chat(chat_id, fault_kind(kind), count, retry_after)

    def fail_rate(
        self, kind: FaultKind | str | int, probability: float, seed: int = 0, retry_after: int = 1
    ) -> None:
        """Each chat-addressed call fails with `kind` at `probability`, reproducibly per seed."""
        self.faults.add_rate(fault_kind(kind), probability, seed, retry_after)

    def slow(self, seconds: float, chat_id: int | None = None) -> None:
        """Answer every call (or calls to one chat) `seconds` later; 0 turns it off."""
        self.faults.set_latency(seconds, chat_id)

    def clear_faults(self) -> None:
        self.faults = FaultPlan()

    # what users do

    def _user(self, user: FakeUser) -> FakeUser:
        self.chats.remember(user)
        return user

    async def send_text(self, token: str, user: FakeUser, text: str) -> Delivery:
        """The user writes `text` to the bot (a leading /command gets its entity)."""
        bot = self.bot(token)
        message_id = self.chats.next_message_id(token, self._user(user).id)
        message = text_message(message_id, user, text, int(time.time()))
        self.chats.store(token, message)
        return await self._deliver_new(bot, {"message": message})

    async def send_command(
        self, token: str, user: FakeUser, command: str, args: str | None = None
    ) -> Delivery:
        text = "/" + command.removeprefix("/")
        return await self.send_text(token, user, f"{text} {args}" if args else text)

    async def edit_text(self, token: str, user: FakeUser, message_id: int, text: str) -> Delivery:
        """The user edits their earlier message (an `edited_message` update)."""
        bot = self.bot(token)
        stored = self.chats.message(token, self._user(user).id, message_id)
        date = stored["date"] if stored else int(time.time())
        message = text_message(message_id, user, text, date, edit_date=int(time.time()))
        self.chats.store(token, message)
        return await self._deliver_new(bot, {"edited_message": message})

    async def send_sticker(
        self, token: str, user: FakeUser, emoji: str = "🍬", file_id: str = "fake-sticker"
    ) -> Delivery:
        bot = self.bot(token)
        message_id = self.chats.next_message_id(token, self._user(user).id)
        message = sticker_message(message_id, user, int(time.time()), emoji, file_id)
        self.chats.store(token, message)
        return await self._deliver_new(bot, {"message": message})

    async def press_button(
        self, token: str, user: FakeUser, callback_data: str, message_id: int
    ) -> Delivery:
        """The user taps an inline button of the bot's message `message_id`."""
        bot = self.bot(token)
        chat = self._user(user).as_chat()
        message = self.chats.message(token, user.id, message_id)
        query_id = self.chats.new_callback(token, user.id)
        chat_instance = str((bot.id * 1_000_003) ^ user.id)
        shown = message if message is not None else inaccessible_message(chat, message_id)
        query = callback_query(query_id, user, chat_instance, shown, callback_data)
        return await self._deliver_new(bot, {"callback_query": query})

    async def block_bot(self, token: str, user: FakeUser) -> Delivery:
        """The user blocks the bot: a my_chat_member update, then sends answer 403."""
        bot = self.bot(token)
        self.chats.blocked.add((token, self._user(user).id))
        update = my_chat_member(user, bot.as_user(), int(time.time()), blocked=True)
        return await self._deliver_new(bot, {"my_chat_member": update})

    async def unblock_bot(self, token: str, user: FakeUser) -> Delivery:
        bot = self.bot(token)
        self.chats.blocked.discard((token, self._user(user).id))
        update = my_chat_member(user, bot.as_user(), int(time.time()), blocked=False)
        return await self._deliver_new(bot, {"my_chat_member": update})

    def is_blocked(self, token: str, chat_id: int) -> bool:
        return (token, chat_id) in self.chats.blocked

    # delivery

    def next_update_id(self, token: str) -> int:
        """Reserve an update_id, for hand-built updates passed to `deliver`."""
        return self.bot(token).take_update_id()

    async def _deliver_new(self, bot: BotState, payload: dict[str, Any]) -> Delivery:
        return await self.deliver(bot.token, {"update_id": bot.take_update_id(), **payload})

    async def deliver(self, token: str, update: Any) -> Delivery:
        """Hand an update (any JSON, even malformed) to the bot: webhook if set, else the queue."""
        bot = self.bot(token)
        delivery = Delivery(
            update=update, via="filtered", status=None, body=None, error=None, reply=None,
            reply_error=None,
        )  # fmt: skip
        self._expect_answer(token, update)
        if not allowed(update, bot.allowed_updates):
            return delivery
        if not bot.webhook_url:
            update_id = update.get("update_id") if isinstance(update, dict) else None
            if not isinstance(update_id, int):
                update_id = bot.take_update_id()
            bot.queue.append((update_id, update))
            bot.notify()
            delivery["via"] = "queue"
            return delivery
        answer = await post_update(
            bot.webhook_url, bot.webhook_secret, update, self.webhook_timeout
        )
        delivery["via"] = "webhook"
        delivery["status"] = answer.status
        delivery["body"] = answer.body
        delivery["error"] = answer.error
        if answer.error:
            bot.last_error_date = int(time.time())
            bot.last_error_message = answer.error
        if answer.call is not None:
            try:
                delivery["reply"] = await self.call(token, *answer.call)
            except BotApiError as error:
                delivery["reply_error"] = error.payload()
        return delivery

    def _expect_answer(self, token: str, update: Any) -> None:
        """A hand-built callback query can be answered like one from `press_button`."""
        query = update.get("callback_query") if isinstance(update, dict) else None
        if not isinstance(query, dict) or "id" not in query:
            return
        message = query.get("message")
        chat = message.get("chat") if isinstance(message, dict) else None
        chat_id = chat.get("id") if isinstance(chat, dict) else None
        if isinstance(chat_id, int):
            self.chats.expect_callback(str(query["id"]), token, chat_id)

    # inspection

    def messages_to(self, chat_id: int, token: str | None = None) -> list[SentMessage]:
        """Everything bots did to this chat, oldest first (sends, edits, deletes, answers)."""
        return self.chats.records(chat_id, token)

    def last_text(self, chat_id: int, token: str | None = None) -> str | None:
        """The text of the latest sendMessage/editMessageText to this chat."""
        texts = [
            sent.text
            for sent in self.messages_to(chat_id, token)
            if sent.method in ("sendMessage", "editMessageText")
        ]
        return texts[-1] if texts else None

    async def wait_for_messages(
        self, chat_id: int, count: int = 1, *, within: float = 5.0, token: str | None = None
    ) -> list[SentMessage]:
        """Until bots did at least `count` things to the chat (for bots replying in background)."""
        return await self.chats.wait_for(chat_id, count, within, token)

    def stats(self) -> dict[str, Any]:
        return {
            "sent_count": self.sent_count,
            "faults_injected": self.faults_injected,
            "forbidden_count": self.forbidden_count,
            "method_counts": dict(self.method_counts),
            "error_counts": {str(code): count for code, count in self.error_counts.items()},
            "bots": [  # by id: tokens are credentials, even fake ones
                {
                    "id": bot.id,
                    "username": bot.username,
                    "webhook_url": bot.webhook_url,
                    "pending_updates": len(bot.queue),
                }
                for bot in self.bots.values()
            ],
        }
