"""`/fake/users/...` and `/fake/updates`: a demo or a test acting as Telegram users.

A user writes, presses a button, edits, sends a sticker, blocks or unblocks a
bot; the fake turns it into the update Telegram would deliver to that bot.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from backend.fake_telegram.models import FakeUser, jsonable
from backend.fake_telegram.routes import Fake
from backend.fake_telegram.state import FakeTelegram

router = APIRouter()


class UserIn(BaseModel):
    token: str
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


class TextIn(UserIn):
    text: str


class ButtonIn(UserIn):
    callback_data: str
    message_id: int


class EditIn(UserIn):
    message_id: int
    text: str


class StickerIn(UserIn):
    emoji: str = "🍬"


class UpdateIn(BaseModel):
    token: str
    update: Any


def user(fake: FakeTelegram, user_id: int, body: UserIn) -> FakeUser:
    """The user as given, falling back on what the fake already knows of them."""
    known = fake.chats.users.get(user_id)
    return FakeUser(
        id=user_id,
        first_name=body.first_name or (known.first_name if known else f"User {user_id}"),
        last_name=body.last_name or (known.last_name if known else None),
        username=body.username or (known.username if known else None),
        language_code=body.language_code or (known.language_code if known else "ru"),
    )


@router.post("/fake/users/{user_id}/text")
async def user_text(user_id: int, body: TextIn, fake: Fake) -> Any:
    return jsonable(await fake.send_text(body.token, user(fake, user_id, body), body.text))


@router.post("/fake/users/{user_id}/button")
async def user_button(user_id: int, body: ButtonIn, fake: Fake) -> Any:
    who = user(fake, user_id, body)
    return jsonable(await fake.press_button(body.token, who, body.callback_data, body.message_id))


@router.post("/fake/users/{user_id}/edit")
async def user_edit(user_id: int, body: EditIn, fake: Fake) -> Any:
    who = user(fake, user_id, body)
    return jsonable(await fake.edit_text(body.token, who, body.message_id, body.text))


@router.post("/fake/users/{user_id}/sticker")
async def user_sticker(user_id: int, body: StickerIn, fake: Fake) -> Any:
    return jsonable(await fake.send_sticker(body.token, user(fake, user_id, body), body.emoji))


@router.post("/fake/users/{user_id}/block")
async def user_block(user_id: int, body: UserIn, fake: Fake) -> Any:
    return jsonable(await fake.block_bot(body.token, user(fake, user_id, body)))


@router.post("/fake/users/{user_id}/unblock")
async def user_unblock(user_id: int, body: UserIn, fake: Fake) -> Any:
    return jsonable(await fake.unblock_bot(body.token, user(fake, user_id, body)))


@router.post("/fake/updates")
async def raw_update(body: UpdateIn, fake: Fake) -> Any:
    return jsonable(await fake.deliver(body.token, body.update))
