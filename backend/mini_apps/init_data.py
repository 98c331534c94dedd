"""Who opened a Mini App: Telegram's signed launch data (`initData`), checked as Telegram says.

Telegram opens a Mini App with `initData`, a query string whose `hash` is an
HMAC-SHA256, keyed by HMAC_SHA256("WebAppData", bot token), over every other
field as sorted `key=value` lines
(https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app).
Only Telegram and we know the token, so a valid hash says the `user` in it is
who Telegram says opened the app, from that bot: the card's data is refused by
the till and the other way round, because the bots' tokens differ. Its
`auth_date` bounds how long a copied initData can be replayed
(MINI_APP_MAX_AGE_SECONDS). Anything else is `Refused`: the API answers 401.

`signed` makes initData as Telegram would, for `dvorik try`'s local launch URL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

# A real initData is well under a kilobyte; the header is refused unread above this.
MAX_BYTES = 4096
# Clocks differ a little: an auth_date up to this far ahead of ours is still now.
FUTURE_LEEWAY_SECONDS = 60


class Refused(Exception):
    """initData that does not prove who opened the app (the reason is for the log only)."""


@dataclass(frozen=True)
class LaunchUser:
    """The Telegram user initData vouches for."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    def as_json(self) -> str:
        fields = {key: value for key, value in vars(self).items() if value is not None}
        return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def _digest(fields: Mapping[str, str], bot_token: str) -> str:
    """The hash Telegram puts into initData with these fields, for this bot."""
    key = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    check = "\n".join(f"{name}={fields[name]}" for name in sorted(fields) if name != "hash")
    return hmac.new(key, check.encode(), hashlib.sha256).hexdigest()


def verified_user(raw: str, bot_token: str, *, now: datetime, max_age_seconds: int) -> LaunchUser:
    """The user of initData `raw` signed with `bot_token` at most `max_age_seconds` ago."""
    if len(raw.encode()) > MAX_BYTES:
        raise Refused("initData too long")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
    except ValueError as error:
        raise Refused("initData is no query string") from error
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise Refused("a field repeats")
    given = fields.get("hash", "").encode()
    if not hmac.compare_digest(given, _digest(fields, bot_token).encode()):
        raise Refused("hash does not match")
    _check_age(fields.get("auth_date", ""), now=now, max_age_seconds=max_age_seconds)
    return _user(fields.get("user", ""))


def _check_age(auth_date: str, *, now: datetime, max_age_seconds: int) -> None:
    if not auth_date.isdigit():
        raise Refused("no auth_date")
    age = now.timestamp() - int(auth_date)
    if age > max_age_seconds:
        raise Refused("initData is stale")
    if age < -FUTURE_LEEWAY_SECONDS:
        raise Refused("auth_date in the future")


def _user(raw: str) -> LaunchUser:
    try:
        user: Any = json.loads(raw)
    except ValueError as error:
        raise Refused("user is no JSON") from error
    if not isinstance(user, dict):
        raise Refused("user is no object")
    user_id, first_name = user.get("id"), user.get("first_name")
    if type(user_id) is not int or user_id <= 0 or not isinstance(first_name, str):
        raise Refused("user has no id or name")
    optional = {
        name: value
        for name in ("last_name", "username", "language_code")
        if isinstance(value := user.get(name), str)
    }
    return LaunchUser(id=user_id, first_name=first_name, **optional)


def signed(user: LaunchUser, bot_token: str, *, now: datetime) -> str:
    """initData for `user`, signed as the bot with `bot_token` gets it from Telegram."""
    fields = {"auth_date": str(int(now.timestamp())), "user": user.as_json()}
    fields["hash"] = _digest(fields, bot_token)
    return urlencode(fields, quote_via=quote)


def launch_url(page_url: str, init_data: str) -> str:
    """The page with initData in its fragment, the way Telegram opens a Mini App."""
    fragment = {"tgWebAppData": init_data, "tgWebAppVersion": "8.0", "tgWebAppPlatform": "web"}
    return f"{page_url}#{urlencode(fragment, quote_via=quote)}"
