"""`/fake/chats`, `/fake/faults`, `/fake/reset`, `/fake/stats`: inspecting and steering the fake.

What bots sent to a chat, the realistic failures (429, 403, 5xx) and latency
to inject, a clean slate between runs, and counters for benchmarks.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from backend.fake_telegram.models import jsonable
from backend.fake_telegram.routes import Fake

router = APIRouter()


class ChatFaultIn(BaseModel):
    chat_id: int
    kind: str | int
    count: int | None = Field(default=None, ge=1)
    retry_after: int = Field(default=1, ge=1)


class RateFaultIn(BaseModel):
    kind: str | int
    probability: float = Field(ge=0, le=1)
    seed: int = 0
    retry_after: int = Field(default=1, ge=1)


class SlowIn(BaseModel):
    seconds: float = Field(ge=0)
    chat_id: int | None = None


class FaultsIn(BaseModel):
    """Any combination; `clear` first drops every fault and latency already set."""

    clear: bool = False
    chat: ChatFaultIn | None = None
    rate: RateFaultIn | None = None
    slow: SlowIn | None = None


@router.get("/fake/chats/{chat_id}/messages")
async def chat_messages(
    chat_id: int, fake: Fake, token: Annotated[str | None, Query()] = None
) -> list[dict[str, Any]]:
    return [jsonable(sent) for sent in fake.messages_to(chat_id, token)]


@router.post("/fake/faults")
async def faults(body: FaultsIn, fake: Fake) -> dict[str, Literal[True]]:
    try:
        if body.clear:
            fake.clear_faults()
        if body.chat:
            chat = body.chat
            fake.fail_chat(chat.chat_id, chat.kind, chat.count, chat.retry_after)
        if body.rate:
            rate = body.rate
            fake.fail_rate(rate.kind, rate.probability, rate.seed, rate.retry_after)
        if body.slow:
            fake.slow(body.slow.seconds, body.slow.chat_id)
    except ValueError as error:
        raise HTTPException(422, str(error)) from None
    return {"ok": True}


@router.delete("/fake/faults")
async def clear_faults(fake: Fake) -> dict[str, Literal[True]]:
    fake.clear_faults()
    return {"ok": True}


@router.post("/fake/reset")
async def reset(fake: Fake) -> dict[str, Literal[True]]:
    fake.reset()
    return {"ok": True}


@router.get("/fake/stats")
async def stats(fake: Fake) -> dict[str, Any]:
    return fake.stats()
