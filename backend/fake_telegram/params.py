"""Reading Bot API parameters the way Telegram does, whatever the encoding.

Telegram takes the same call as a query string, urlencoded or multipart form
(aiogram's choice: every value a string, complex ones JSON-encoded, files as
`attach://<part>`), or a JSON body. `read_params` flattens all of them into one
dict and `Params` coerces fields on use, answering Telegram's own 400s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request

from backend.fake_telegram.errors import bad_request
from backend.fake_telegram.models import Upload

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


async def read_params(request: Request) -> dict[str, Any]:
    """Query string merged with the body (JSON, urlencoded or multipart; files as `Upload`)."""
    params: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in FORM_TYPES:
        form = await request.form(max_part_size=64 * 1024 * 1024)
        try:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    content = await value.read()
                    filename = value.filename or key
                    params[key] = Upload(filename, content, value.content_type)
                else:
                    params[key] = value
        finally:
            await form.close()
        return params
    body = await request.body()
    if body.strip():
        try:
            data = json.loads(body)
        except ValueError:
            raise bad_request("can't parse JSON request body") from None
        if not isinstance(data, dict):
            raise bad_request("JSON request body must be an object")
        params.update(data)
    return params


def body_request(body: bytes, content_type: str) -> Request:
    """A Starlette request over raw bytes, to parse a webhook's multipart answer like a call."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "query_string": b"",
        "headers": [(b"content-type", content_type.encode("latin-1"))],
    }
    return Request(scope, receive)


class Params:
    """Typed access to call parameters; a wrong value is Telegram's 400, not a 500."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = dict(values)

    def __contains__(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def string(self, name: str, *, required: str | None = None) -> str | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(required)
            return None
        if isinstance(value, Upload):
            raise bad_request(f'field "{name}" must be of type String')
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str, *, required: str | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(required)
            return None
        if isinstance(value, bool):
            raise bad_request(f'field "{name}" must be of type Integer')
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad_request(f'field "{name}" must be of type Integer') from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, bool):
            return value
        if value is None or value == "":
            return False
        return str(value).strip().lower() in ("true", "1")

    def structured(self, name: str, *, what: str | None = None) -> Any:
        """Objects and arrays: as JSON values, or as JSON strings (form-encoded calls)."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, dict | list):
            return value
        try:
            return json.loads(str(value))
        except ValueError:
            raise bad_request(f"can't parse {what or name} JSON object") from None

    def file(self, name: str) -> Upload | str | None:
        """An uploaded part (directly or via `attach://<part>`), or a file_id/URL string."""
        value = self.values.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            attached = self.values.get(value.removeprefix("attach://"))
            if not isinstance(attached, Upload):
                raise bad_request(f'file "{value}" must be sent in the request')
            return attached
        if isinstance(value, Upload | str):
            return value or None
        return None
