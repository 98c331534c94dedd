"""Bot API errors, shaped exactly as Telegram answers them.

aiogram decides which exception to raise from the HTTP status *and* the JSON
body (`parameters.retry_after` wins over the status), so every error carries
both and renders them together.
"""

from __future__ import annotations

from typing import Any


class BotApiError(Exception):
    """A failed Bot API call: `{"ok": false, "error_code", "description", "parameters"?}`."""

    def __init__(self, error_code: int, description: str, *, retry_after: int | None = None):
        super().__init__(f"{error_code} {description}")
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> BotApiError:
    return BotApiError(400, f"Bad Request: {reason}")


def unauthorized() -> BotApiError:
    return BotApiError(401, "Unauthorized")


def forbidden(reason: str = "bot was blocked by the user") -> BotApiError:
    return BotApiError(403, f"Forbidden: {reason}")


def method_not_found() -> BotApiError:
    return BotApiError(404, "Not Found: method not found")


def conflict(reason: str) -> BotApiError:
    return BotApiError(409, f"Conflict: {reason}")


def too_many_requests(retry_after: int) -> BotApiError:
    return BotApiError(
        429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
    )


def server_error(status: int) -> BotApiError:
    descriptions = {500: "Internal Server Error", 502: "Bad Gateway"}
    return BotApiError(status, descriptions.get(status, "Internal Server Error"))
