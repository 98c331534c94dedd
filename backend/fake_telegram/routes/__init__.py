"""The fake's HTTP routes by audience: `bot_api` for bots, `users` and `control` for drivers.

`server.create_app` puts the `FakeTelegram` on `app.state`; handlers receive it
through the `Fake` dependency rather than from a closure.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from backend.fake_telegram.state import FakeTelegram


async def current_fake(request: Request) -> FakeTelegram:
    """The fake this app serves (async, so FastAPI resolves it inline, not in a thread)."""
    fake: FakeTelegram = request.app.state.fake
    return fake


Fake = Annotated[FakeTelegram, Depends(current_fake)]
