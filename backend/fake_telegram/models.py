"""The fake's records: people, bots, what bots sent, and how an update was delivered.

Everything renders to the exact JSON shapes of the Bot API, because the
consumers are aiogram's pydantic types and they reject anything less.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypedDict

TOKEN = re.compile(r"^(\d{1,19}):[A-Za-z0-9_-]{1,128}$")


def bot_id_of(token: str) -> int | None:
    """The numeric bot id a token starts with, or None for a malformed token."""
    match = TOKEN.match(token)
    return int(match.group(1)) if match else None


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


@dataclass(frozen=True)
class FakeUser:
    """A Telegram user; their private chat with any bot has the same id."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "ru"

    def as_user(self) -> dict[str, Any]:
        return _without_none(
            {
                "id": self.id,
                "is_bot": False,
                "first_name": self.first_name,
                "last_name": self.last_name,
                "username": self.username,
                "language_code": self.language_code,
            }
        )

    def as_chat(self) -> dict[str, Any]:
        return _without_none(
            {
                "id": self.id,
                "type": "private",
                "first_name": self.first_name,
                "last_name": self.last_name,
                "username": self.username,
            }
        )


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request (what aiogram's InputFile becomes)."""

    filename: str
    content: bytes
    content_type: str | None = None


@dataclass(frozen=True)
class SentMessage:
    """One thing a bot did to a chat: a send, an edit, a delete or a callback answer."""

    token: str
    chat_id: int
    method: str
    message_id: int | None
    text: str | None
    reply_markup: dict[str, Any] | None
    photo_size: int | None  # bytes of an uploaded photo
    photo: str | None  # file_id or URL when not uploaded
    caption: str | None
    time: float
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Delivery(TypedDict):
    """What happened to an update: posted to the webhook, queued for getUpdates, or filtered."""

    update: Any
    via: Literal["webhook", "queue", "filtered"]
    status: int | None  # the webhook's HTTP status
    body: Any  # the webhook's answer: JSON, parsed form, or text
    error: str | None  # why the webhook could not be reached / refused it
    reply: Any  # result of a method call the webhook answered with
    reply_error: dict[str, Any] | None


@dataclass
class BotState:
    """One bot by token: identity, webhook, update queue and commands."""

    token: str
    id: int
    username: str
    first_name: str
    webhook_url: str = ""
    webhook_secret: str | None = None
    allowed_updates: list[str] | None = None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None
    next_update_id: int = 1
    queue: list[tuple[int, Any]] = field(default_factory=list)
    poll_generation: int = 0
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    menu_buttons: dict[str, dict[str, Any]] = field(default_factory=dict)  # chat id or "default"
    _arrived: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def as_user(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def take_update_id(self) -> int:
        update_id = self.next_update_id
        self.next_update_id += 1
        return update_id

    def notify(self) -> None:
        """Wake every getUpdates waiting on this bot."""
        self._arrived.set()
        self._arrived = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        """Until something is queued (or another poller arrives), at most `seconds`."""
        arrived = self._arrived
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(arrived.wait(), seconds)


def jsonable(value: Any) -> Any:
    """Plain JSON data, with uploads summarised (name and size) instead of raw bytes."""
    if isinstance(value, Upload):
        return {"filename": value.filename, "size": len(value.content)}
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, SentMessage):
        return jsonable(value.as_dict())
    return value
