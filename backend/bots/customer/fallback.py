"""What the customer bot answers when no journey does: help, a hint, an apology.

Anything the bot does not understand gets a polite hint, never silence; a
button it no longer knows gets a toast; a bug is logged and apologised for in
the chat (`on_error`, the last error handler: domain errors a journey expects
are answered by its own handlers first; an outage never reaches it, see
`backend.bots.redelivery`).
"""

from __future__ import annotations

import contextlib
import logging

from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, ErrorEvent, Message

from backend.bots.texts import reply
from backend.telegram.texts import Texts

log = logging.getLogger("dvorik.bots.customer")


async def show_help(message: Message, texts: Texts) -> None:
    await reply(message, await texts.get("help"))


async def anything_else(message: Message, texts: Texts) -> None:
    await reply(message, await texts.get("unknown_input"))


async def stale_button(query: CallbackQuery, texts: Texts) -> None:
    await query.answer(await texts.plain("unknown_input"), show_alert=False)


async def on_error(event: ErrorEvent, texts: Texts) -> bool:
    """A bug must not become silence: log it and apologise in the customer's chat."""
    log.exception(
        "customer bot failed on update %s", event.update.update_id, exc_info=event.exception
    )
    message = event.update.message or event.update.edited_message
    if message is not None:
        with contextlib.suppress(TelegramAPIError):
            await reply(message, await texts.get("unknown_input"))
    return True
