"""Updates as Telegram builds them: what a user's action looks like to a bot.

Pure functions over plain dicts, so the same shapes serve webhook posts,
getUpdates answers and assertions in tests.
"""

from __future__ import annotations

import hashlib
from typing import Any

from backend.fake_telegram.models import FakeUser

# Telegram's default when a bot never said which updates it wants.
NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


def utf16_len(text: str) -> int:
    """Entity offsets and lengths count UTF-16 code units, not characters."""
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str) -> list[dict[str, Any]] | None:
    """Telegram marks a leading `/command[@bot]` as a bot_command entity."""
    if not text.startswith("/") or len(text) < 2:
        return None
    command = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]


def update_type(update: Any) -> str | None:
    """The single payload key of an update ("message", "callback_query", …)."""
    if not isinstance(update, dict):
        return None
    return next((key for key in update if key != "update_id"), None)


def allowed(update: Any, allowed_updates: list[str] | None) -> bool:
    kind = update_type(update)
    if kind is None:
        return True  # malformed updates go through: that is what deliver() is for
    if allowed_updates:
        return kind in allowed_updates
    return kind not in NOT_BY_DEFAULT


def text_message(
    message_id: int, user: FakeUser, text: str, date: int, *, edit_date: int | None = None
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": user.as_user(),
        "chat": user.as_chat(),
        "date": date,
        "text": text,
    }
    if entities := command_entities(text):
        message["entities"] = entities
    if edit_date is not None:
        message["edit_date"] = edit_date
    return message


def sticker_message(
    message_id: int, user: FakeUser, date: int, emoji: str, file_id: str
) -> dict[str, Any]:
    unique = hashlib.sha1(file_id.encode(), usedforsecurity=False).hexdigest()[:16]
    return {
        "message_id": message_id,
        "from": user.as_user(),
        "chat": user.as_chat(),
        "date": date,
        "sticker": {
            "file_id": file_id,
            "file_unique_id": unique,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        },
    }


def inaccessible_message(chat: dict[str, Any], message_id: int) -> dict[str, Any]:
    """What a callback query carries when the message is gone (date 0 marks it)."""
    return {"chat": chat, "message_id": message_id, "date": 0}


def callback_query(
    query_id: str,
    user: FakeUser,
    chat_instance: str,
    message: dict[str, Any],
    data: str,
) -> dict[str, Any]:
    return {
        "id": query_id,
        "from": user.as_user(),
        "chat_instance": chat_instance,
        "message": message,
        "data": data,
    }


def my_chat_member(
    user: FakeUser, bot_user: dict[str, Any], date: int, *, blocked: bool
) -> dict[str, Any]:
    """The bot's own membership in a private chat: member → kicked when the user blocks it."""
    member = {"status": "member", "user": bot_user}
    kicked = {"status": "kicked", "user": bot_user, "until_date": 0}
    return {
        "chat": user.as_chat(),
        "from": user.as_user(),
        "date": date,
        "old_chat_member": member if blocked else kicked,
        "new_chat_member": kicked if blocked else member,
    }
