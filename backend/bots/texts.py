"""Sending a rendered text as a bot's reply, in the text's parse mode.

The texts themselves (templates, cached) are `backend.telegram.texts.Texts`,
shared with the workers; this is the one aiogram-specific step.
"""

from __future__ import annotations

from typing import Any

from aiogram.methods import SendMessage
from aiogram.types import Message

from backend.domain.templates import Rendered


def reply(message: Message, text: Rendered, **options: Any) -> SendMessage:
    """`message.answer` in the text's parse mode (without it Telegram shows the tags)."""
    return message.answer(text.text, parse_mode=text.telegram_parse_mode, **options)
