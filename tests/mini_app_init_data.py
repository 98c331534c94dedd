"""Mini App initData signed the way Telegram signs it, for tests of the Mini Apps.

Telegram hands a Mini App its launch data as a query string (`initData`) whose
`hash` is HMAC-SHA256 over the other fields (sorted `key=value` lines) with a key
derived from the bot's token (https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app).
Tests sign with the bots' test tokens to stand in for Telegram, and with another
token or an altered field to forge.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import quote, urlencode


def telegram_user(user_id: int, first_name: str = "Маша", **more: Any) -> dict[str, Any]:
    """The `user` object Telegram puts in initData (id and name; more fields as given)."""
    return {"id": user_id, "first_name": first_name, "language_code": "ru", **more}


def data_check_string(fields: dict[str, str]) -> str:
    """Every field but `hash`, sorted by key, `key=value` joined by line breaks."""
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def init_data_hash(bot_token: str, fields: dict[str, str]) -> str:
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    return hmac.new(secret, data_check_string(fields).encode(), hashlib.sha256).hexdigest()


def signed_init_data(
    bot_token: str,
    user: dict[str, Any],
    auth_date: int | None = None,
    **extra: str,
) -> str:
    """Raw initData for `user` as the bot with `bot_token` would get it (`auth_date`: now)."""
    fields = {
        "query_id": "AAF" + str(user["id"]),
        "user": json.dumps(user, ensure_ascii=False, separators=(",", ":")),
        "auth_date": str(int(time.time()) if auth_date is None else auth_date),
        **extra,
    }
    fields["hash"] = init_data_hash(bot_token, fields)
    return urlencode(fields, quote_via=quote)


def launch_fragment(init_data: str) -> str:
    """The URL fragment Telegram opens a Mini App with (`#tgWebAppData=...`)."""
    return "#" + urlencode(
        {"tgWebAppData": init_data, "tgWebAppVersion": "8.0", "tgWebAppPlatform": "web"},
        quote_via=quote,
    )
