"""A local fake of the Telegram Bot API for tests, benchmarks and demos.

Point aiogram at it with `TelegramAPIServer.from_base(url)`; drive users and
inspect what bots sent with `FakeTelegram` in-process or `/fake/...` over HTTP.
"""

from backend.fake_telegram.errors import BotApiError
from backend.fake_telegram.faults import FaultKind
from backend.fake_telegram.models import Delivery, FakeUser, SentMessage
from backend.fake_telegram.server import create_app
from backend.fake_telegram.state import FakeTelegram

__all__ = [
    "BotApiError",
    "Delivery",
    "FakeTelegram",
    "FakeUser",
    "FaultKind",
    "SentMessage",
    "create_app",
]
