"""The Bot API methods the fake implements, each failing the way Telegram fails.

Handlers take the fake, the calling bot and the call's parameters, and either
return the `result` or raise `BotApiError`. Names are matched case-insensitively,
as Telegram does; anything not listed here answers 404. A handler sees the fake
only as `Telegram` (its chats and counters), so the methods don't depend on the
`FakeTelegram` that dispatches to them.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

from backend.fake_telegram.chats import ChatLog
from backend.fake_telegram.errors import bad_request, conflict, forbidden
from backend.fake_telegram.markup import check_length, formatted, inline_markup
from backend.fake_telegram.models import BotState, SentMessage, Upload, jsonable
from backend.fake_telegram.params import Params


class Telegram(Protocol):
    """What a method reads and changes of the fake: its chats and its counters."""

    chats: ChatLog
    sent_count: int
    forbidden_count: int


Handler = Callable[[Telegram, BotState, Params], Awaitable[Any]]
METHODS: dict[str, tuple[str, Handler]] = {}  # lower-cased name → (canonical name, handler)

SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
BOT_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
CONFLICT_WEBHOOK = "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"  # noqa: E501
CONFLICT_POLLING = (
    "terminated by other getUpdates request; make sure that only one bot instance is running"
)
GIFT_TYPES = (
    "unlimited_gifts",
    "limited_gifts",
    "unique_gifts",
    "premium_subscription",
    "gifts_from_channels",
)


def method(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        METHODS[name.lower()] = (name, handler)
        return handler

    return register


def chat_id_of(p: Params) -> int | None:
    """The integer chat a call addresses, if any (faults and latency key on it)."""
    value = p.raw("chat_id")
    try:
        return int(value) if value not in (None, "") and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _target(fake: Telegram, bot: BotState, p: Params) -> tuple[int, dict[str, Any]]:
    if "chat_id" not in p:
        raise bad_request("chat_id is empty")
    chat_id = chat_id_of(p)
    if chat_id is None:
        raise bad_request("chat not found")  # "@username" works for channels only
    return chat_id, fake.chats.chat(chat_id)


def _reachable(fake: Telegram, bot: BotState, chat_id: int) -> None:
    if (bot.token, chat_id) in fake.chats.blocked:
        fake.forbidden_count += 1
        raise forbidden()


def _message_id(p: Params, missing: str) -> int:
    message_id = p.integer("message_id", required=missing)
    assert message_id is not None
    return message_id


def _record(
    fake: Telegram,
    bot: BotState,
    chat_id: int,
    name: str,
    p: Params,
    *,
    message_id: int | None,
    text: str | None = None,
    photo_size: int | None = None,
    photo: str | None = None,
) -> None:
    markup = p.structured("reply_markup", what="reply keyboard markup")
    fake.chats.record(
        SentMessage(
            token=bot.token,
            chat_id=chat_id,
            method=name,
            message_id=message_id,
            text=text,
            reply_markup=markup if isinstance(markup, dict) else None,
            photo_size=photo_size,
            photo=photo,
            caption=p.string("caption"),
            time=time.time(),
            params=jsonable(p.values),
        )
    )


def _new_message(
    fake: Telegram, bot: BotState, chat: dict[str, Any], markup: dict[str, Any] | None
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": fake.chats.next_message_id(bot.token, chat["id"]),
        "from": bot.as_user(),
        "chat": chat,
        "date": int(time.time()),
    }
    if markup is not None:
        message["reply_markup"] = markup
    return message


def _text(
    p: Params, field: str, limit: int, what: str, *, required: bool
) -> tuple[str, dict[str, Any]] | None:
    """The text as sent, and the fields a Message shows of it: the visible text, its entities.

    With a parse mode the entities come from the markup (refused with 400 if
    Telegram would refuse it), without one from the explicit `entities` field.
    """
    text = p.string(field, required="message text is empty" if required else None)
    if text is None:
        return None
    shown = formatted(text, p.string("parse_mode"))
    if required and not shown.text.strip():
        raise bad_request("message text is empty")
    check_length(shown.text, limit, what)
    kind = "entities" if field == "text" else "caption_entities"
    entities = [entity.as_json() for entity in shown.entities] or p.structured(kind)
    return text, {field: shown.text, **({kind: entities} if entities else {})}


@method("getMe")
async def get_me(fake: Telegram, bot: BotState, p: Params) -> Any:
    return bot.as_user()


@method("sendMessage")
async def send_message(fake: Telegram, bot: BotState, p: Params) -> Any:
    chat_id, chat = _target(fake, bot, p)
    sent = _text(p, "text", 4096, "message", required=True)
    assert sent is not None
    text, shown = sent
    markup = inline_markup(p.structured("reply_markup", what="reply keyboard markup"))
    _reachable(fake, bot, chat_id)
    message = _new_message(fake, bot, chat, markup)
    message.update(shown)
    fake.chats.store(bot.token, message)
    _record(fake, bot, chat_id, "sendMessage", p, message_id=message["message_id"], text=text)
    fake.sent_count += 1
    return message


@method("sendPhoto")
async def send_photo(fake: Telegram, bot: BotState, p: Params) -> Any:
    chat_id, chat = _target(fake, bot, p)
    photo = p.file("photo")
    if photo is None:
        raise bad_request("there is no photo in the request")
    if isinstance(photo, Upload) and not photo.content:
        raise bad_request("file must be non-empty")
    caption = _text(p, "caption", 1024, "message caption", required=False)
    markup = inline_markup(p.structured("reply_markup", what="reply keyboard markup"))
    _reachable(fake, bot, chat_id)
    message = _new_message(fake, bot, chat, markup)
    size = len(photo.content) if isinstance(photo, Upload) else None
    file_id = f"fake-photo-{bot.id}-{chat_id}-{message['message_id']}"
    message["photo"] = [
        {"file_id": f"{file_id}-s", "file_unique_id": f"{file_id}-s", "width": 90, "height": 90},
        {
            "file_id": file_id if isinstance(photo, Upload) else photo,
            "file_unique_id": file_id,
            "width": 800,
            "height": 800,
            **({"file_size": size} if size is not None else {}),
        },
    ]
    if caption is not None:
        message.update(caption[1])
    fake.chats.store(bot.token, message)
    _record(
        fake,
        bot,
        chat_id,
        "sendPhoto",
        p,
        message_id=message["message_id"],
        photo_size=size,
        photo=None if isinstance(photo, Upload) else photo,
    )
    fake.sent_count += 1
    return message


@method("sendChatAction")
async def send_chat_action(fake: Telegram, bot: BotState, p: Params) -> Any:
    chat_id, _ = _target(fake, bot, p)
    p.string("action", required="action is empty")
    _reachable(fake, bot, chat_id)
    return True


async def _edit(fake: Telegram, bot: BotState, p: Params, name: str, *, text: bool) -> Any:
    markup = inline_markup(p.structured("reply_markup", what="reply keyboard markup"))
    sent = _text(p, "text", 4096, "message", required=True) if text else None
    new_text, shown = sent if sent is not None else (None, {})
    if "inline_message_id" in p:
        return True
    chat_id, _ = _target(fake, bot, p)
    message_id = _message_id(p, "message identifier is not specified")
    message = fake.chats.message(bot.token, chat_id, message_id)
    if message is None:
        raise bad_request("message to edit not found")
    if message["from"]["id"] != bot.id:
        raise bad_request("message can't be edited")
    if text and "text" not in message:
        raise bad_request("there is no text in the message to edit")
    before = (message.get("text"), message.get("entities"), message.get("reply_markup"))
    after = (shown["text"], shown.get("entities"), markup) if text else (*before[:2], markup)
    if after == before:
        raise bad_request(NOT_MODIFIED)
    _reachable(fake, bot, chat_id)
    if text:
        message.pop("entities", None)
        message.update(shown)
    if markup is None:
        message.pop("reply_markup", None)
    else:
        message["reply_markup"] = markup
    message["edit_date"] = int(time.time())
    fake.chats.store(bot.token, message)
    _record(fake, bot, chat_id, name, p, message_id=message_id, text=new_text)
    return message


@method("editMessageText")
async def edit_message_text(fake: Telegram, bot: BotState, p: Params) -> Any:
    return await _edit(fake, bot, p, "editMessageText", text=True)


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(fake: Telegram, bot: BotState, p: Params) -> Any:
    return await _edit(fake, bot, p, "editMessageReplyMarkup", text=False)


@method("deleteMessage")
async def delete_message(fake: Telegram, bot: BotState, p: Params) -> Any:
    chat_id, _ = _target(fake, bot, p)
    message_id = _message_id(p, "message identifier is not specified")
    if not fake.chats.forget(bot.token, chat_id, message_id):
        raise bad_request("message to delete not found")
    _record(fake, bot, chat_id, "deleteMessage", p, message_id=message_id)
    return True


@method("answerCallbackQuery")
async def answer_callback_query(fake: Telegram, bot: BotState, p: Params) -> Any:
    chat_id = fake.chats.answer_callback(bot.token, p.string("callback_query_id"))
    text = p.string("text")
    if text is not None:
        check_length(text, 200, "message")
    _record(fake, bot, chat_id, "answerCallbackQuery", p, message_id=None, text=text)
    return True


@method("setWebhook")
async def set_webhook(fake: Telegram, bot: BotState, p: Params) -> Any:
    url = p.string("url") or ""
    secret = p.string("secret_token")
    allowed_updates = p.structured("allowed_updates")
    max_connections = p.integer("max_connections")
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if secret is not None and not SECRET_TOKEN.match(secret):
        raise bad_request("secret token contains unallowed characters")
    if allowed_updates is not None and not isinstance(allowed_updates, list):
        raise bad_request("can't parse allowed_updates JSON object")
    if max_connections is not None and not 1 <= max_connections <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    bot.webhook_url = url
    bot.webhook_secret = secret if url else None
    if allowed_updates is not None:
        bot.allowed_updates = [str(kind) for kind in allowed_updates] or None
    bot.max_connections = max_connections or 40
    bot.last_error_date = bot.last_error_message = None
    if p.flag("drop_pending_updates"):
        bot.queue.clear()
    bot.notify()  # a waiting getUpdates learns about the conflict
    return True


@method("deleteWebhook")
async def delete_webhook(fake: Telegram, bot: BotState, p: Params) -> Any:
    bot.webhook_url = ""
    bot.webhook_secret = None
    if p.flag("drop_pending_updates"):
        bot.queue.clear()
    return True


@method("getWebhookInfo")
async def get_webhook_info(fake: Telegram, bot: BotState, p: Params) -> Any:
    info: dict[str, Any] = {
        "url": bot.webhook_url,
        "has_custom_certificate": False,
        "pending_update_count": len(bot.queue),
    }
    if bot.webhook_url:
        info["ip_address"] = "127.0.0.1"
        info["max_connections"] = bot.max_connections
    if bot.allowed_updates:
        info["allowed_updates"] = bot.allowed_updates
    if bot.last_error_message:
        info["last_error_date"] = bot.last_error_date
        info["last_error_message"] = bot.last_error_message
    return info


@method("getChat")
async def get_chat(fake: Telegram, bot: BotState, p: Params) -> Any:
    """A ChatFullInfo: the Chat plus the fields Telegram always sends with it."""
    reference = p.raw("chat_id")
    if reference in (None, ""):
        raise bad_request("chat_id is empty")
    return {
        **fake.chats.find_chat(reference),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": dict.fromkeys(GIFT_TYPES, False),
    }


@method("getChatMember")
async def get_chat_member(fake: Telegram, bot: BotState, p: Params) -> Any:
    """As Telegram: a channel by "@username" or id, a deleted one is "chat not found"."""
    if p.raw("chat_id") in (None, ""):
        raise bad_request("chat_id is empty")
    fake.chats.find_chat(p.raw("chat_id"))
    user_id = p.integer("user_id", required="user not found")
    assert user_id is not None
    if user_id == bot.id:
        return {"status": "member", "user": bot.as_user()}
    user = fake.chats.user(user_id)
    if (bot.token, user_id) in fake.chats.blocked:
        return {"status": "kicked", "user": user, "until_date": 0}
    return {"status": "member", "user": user}


def _commands_key(p: Params) -> str:
    scope = p.structured("scope") or {"type": "default"}
    return json.dumps([scope, p.string("language_code") or ""], sort_keys=True)


@method("setMyCommands")
async def set_my_commands(fake: Telegram, bot: BotState, p: Params) -> Any:
    commands = p.structured("commands")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    for command in commands:
        if not isinstance(command, dict) or not BOT_COMMAND.match(str(command.get("command"))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description") or "")) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    bot.commands[_commands_key(p)] = commands
    return True


@method("getMyCommands")
async def get_my_commands(fake: Telegram, bot: BotState, p: Params) -> Any:
    return bot.commands.get(_commands_key(p), [])


@method("deleteMyCommands")
async def delete_my_commands(fake: Telegram, bot: BotState, p: Params) -> Any:
    bot.commands.pop(_commands_key(p), None)
    return True


@method("getUpdates")
async def get_updates(fake: Telegram, bot: BotState, p: Params) -> Any:
    """Long polling: confirm below `offset`, then wait up to `timeout` for something new."""
    if bot.webhook_url:
        raise conflict(CONFLICT_WEBHOOK)
    offset = p.integer("offset") or 0
    limit = min(max(p.integer("limit") or 100, 1), 100)
    timeout = max(p.integer("timeout") or 0, 0)
    allowed_updates = p.structured("allowed_updates")
    if isinstance(allowed_updates, list):
        bot.allowed_updates = [str(kind) for kind in allowed_updates] or None
    bot.poll_generation += 1
    generation = bot.poll_generation
    bot.notify()  # an older poller of this bot is terminated, as on Telegram
    if offset > 0:
        bot.queue[:] = [entry for entry in bot.queue if entry[0] >= offset]
    elif offset < 0:
        del bot.queue[: max(len(bot.queue) + offset, 0)]
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if bot.webhook_url:
            raise conflict(CONFLICT_WEBHOOK)
        if bot.queue:
            return [update for _, update in bot.queue[:limit]]
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return []
        await bot.wait(remaining)
        if generation != bot.poll_generation:
            raise conflict(CONFLICT_POLLING)


@method("close")
async def close(fake: Telegram, bot: BotState, p: Params) -> Any:
    return True


@method("logOut")
async def log_out(fake: Telegram, bot: BotState, p: Params) -> Any:
    return True
