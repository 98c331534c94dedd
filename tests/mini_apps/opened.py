"""A Mini App opened by a fake Telegram user: its API over real HTTP, signed as Telegram signs.

`card(world, user)` is the customer's card as opened from the customer bot's
menu, `till(world, user)` the scanner from the cashier bot's; `init_data`
overrides the signed launch data (a forged or stale one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from backend.fake_telegram import FakeUser
from tests.mini_app_init_data import signed_init_data, telegram_user
from tests.telegram_world import CASHIER_TOKEN, CUSTOMER_TOKEN, Telegram


@dataclass
class OpenedApp:
    url: str
    init_data: str | None  # None: no Authorization header at all

    async def get(self, path: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            return await http.get(path, headers=self.headers)

    async def post(self, path: str, body: Any) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            return await http.post(path, json=body, headers=self.headers)

    @property
    def headers(self) -> dict[str, str]:
        if self.init_data is None:
            return {}
        return {"Authorization": f"tma {self.init_data}".strip()}  # empty: "tma" alone

    def with_init_data(self, init_data: str | None) -> OpenedApp:
        """The same app sending `init_data` instead (a forged one, or none)."""
        return OpenedApp(self.url, init_data)


def launch_data(token: str, user: FakeUser, **fields: Any) -> str:
    who = telegram_user(user.id, user.first_name)
    return signed_init_data(token, who, **fields)


def card(world: Telegram, user: FakeUser, init_data: str | None = None) -> OpenedApp:
    return OpenedApp(world.dvorik.url, init_data or launch_data(CUSTOMER_TOKEN, user))


def till(world: Telegram, user: FakeUser, init_data: str | None = None) -> OpenedApp:
    return OpenedApp(world.dvorik.url, init_data or launch_data(CASHIER_TOKEN, user))


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    """A refusal as the page reads it: the status, the error code and the message."""
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]
