"""Error reports without personal data: the scrubber on events as the SDK builds them.

The exceptions are real (raised with personal data in their messages and in
the failing function's local variables) and turned into events by the SDK's
own `event_from_exception` with local variables on; the request, log record,
breadcrumbs and contexts are filled in as the FastAPI, logging, aiohttp and
Strawberry integrations fill them. After `scrub_event` no phone, name,
username, Telegram id, e-mail, discount code, token, key or secret is left,
and what an operator needs to find the bug is.
"""

from __future__ import annotations

import json
import sys
from typing import Any, cast

import pytest
import sentry_sdk
from pydantic import BaseModel, ValidationError
from sentry_sdk.consts import DEFAULT_OPTIONS
from sentry_sdk.utils import event_from_exception
from sqlalchemy.exc import IntegrityError

from backend.observability.error_scrubbing import scrub_breadcrumb, scrub_event
from backend.observability.error_tracking import init_error_tracking
from backend.observability.logging import REDACTED
from backend.settings import Settings

PHONE = "+7 914 765-43-21"
PHONE_WITHOUT_PLUS = "8 (914) 765-43-21"
FIRST_NAME, LAST_NAME, USERNAME = "Василиса", "Прохорова", "vasilisa_sweet"
TELEGRAM_ID = 5_912_345_678
EMAIL = "vasilisa@dvorik.test"
CODE = "9R7ZME7T"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiIsImV4cCI6MTczMjU3OTIwMH0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
BOT_TOKEN = "7000000001:AAHc" + "q" * 31
SECRETS = ("webhook-secret-" + "w" * 30, "internal-" + "k" * 40, "session=abc123def456")
PERSONAL = (
    "765-43-21", "9147654321", FIRST_NAME, LAST_NAME, USERNAME, str(TELEGRAM_ID), EMAIL,
    CODE, JWT, BOT_TOKEN.split(":")[1], *SECRETS,
)  # fmt: skip


class Contact(BaseModel):
    phone: int


def _register_failed() -> dict[str, Any]:
    """A real SQLAlchemy error for a customer's insert, as the SDK reports it (locals on)."""
    first_name, username, phone = FIRST_NAME, USERNAME, PHONE  # the frame's local variables
    try:
        raise IntegrityError(
            "INSERT INTO customers (telegram_id, first_name, username, phone) VALUES (?, ?, ?, ?)",
            (TELEGRAM_ID, first_name, username, phone),
            Exception(f"Duplicate entry '{PHONE_WITHOUT_PLUS}' for key 'customers.phone'"),
        )
    except IntegrityError:
        return _event_of_current_exception()


def _event_of_current_exception() -> dict[str, Any]:
    options = {**DEFAULT_OPTIONS, "include_local_variables": True}
    event, _ = event_from_exception(
        sys.exc_info(), client_options=options, mechanism={"type": "logging", "handled": True}
    )
    return dict(event)


def _as_the_integrations_fill_it(event: dict[str, Any]) -> dict[str, Any]:
    variables = {"phone": PHONE, "note": f"{FIRST_NAME} {LAST_NAME}"}
    event.update(
        level="error",
        logger="dvorik.graphql",
        transaction="/graphql",
        tags={"process": "api", "request_id": "edit-request-1"},
        user={"ip_address": "203.0.113.7", "id": str(TELEGRAM_ID)},
        request={
            "url": f"http://shop.example/graphql?phone={PHONE}&code={CODE}",
            "method": "POST",
            "query_string": f"phone={PHONE}&code={CODE}",
            "headers": {
                "Authorization": f"Bearer {JWT}",
                "Cookie": SECRETS[2],
                "X-API-Key": SECRETS[1],
                "X-Telegram-Bot-Api-Secret-Token": SECRETS[0],
                "User-Agent": "Mozilla/5.0",
            },
            "cookies": {"session": SECRETS[2]},
            "data": {"query": "mutation { updateCustomer }", "variables": variables},
            "env": {"REMOTE_ADDR": "203.0.113.7"},
        },
        logentry={
            "message": "customer %s shared %s and typed %s",
            "formatted": f"customer 42 shared {PHONE} and typed {CODE}",
            "params": [42, PHONE, CODE],
        },
        extra={
            "customer_id": 42,
            "first_name": FIRST_NAME,
            "username": USERNAME,
            "telegram_id": TELEGRAM_ID,
            "email": EMAIL,
            "update": {"message": {"from": {"id": TELEGRAM_ID, "first_name": FIRST_NAME}}},
        },
        contexts={
            "response": {"status_code": 200, "data": {"customer": {"phone": PHONE}}},
            "runtime": {"name": "CPython", "version": "3.11.7"},
        },
        breadcrumbs={
            "values": [
                {
                    "type": "http",
                    "category": "httplib",
                    "data": {
                        "url": f"http://127.0.0.1:8081/bot{BOT_TOKEN}/sendMessage",
                        "method": "POST",
                        "status_code": 200,
                    },
                },
                {
                    "type": "log",
                    "category": "dvorik.bots.customer",
                    "message": f"code {CODE} typed by {PHONE_WITHOUT_PLUS} ({EMAIL})",
                    "data": {"code": CODE, "chat_id": TELEGRAM_ID, "customer_id": 42},
                },
                {"category": "query", "message": "UPDATE customers SET phone=? WHERE id = ?"},
            ]
        },
    )
    return event


def test_a_request_error_leaves_nothing_personal_and_what_finds_the_bug() -> None:
    event = _as_the_integrations_fill_it(_register_failed())
    assert any("vars" in frame for frame in _frames(event)), "the SDK collected no locals"

    scrubbed = _scrubbed(event)

    sent = json.dumps(scrubbed, ensure_ascii=False, default=str)
    for personal in PERSONAL:
        assert personal not in sent, personal
    assert "user" not in scrubbed
    assert scrubbed["request"] == {"method": "POST", "url": "http://shop.example/graphql"}
    assert not any("vars" in frame for frame in _frames(scrubbed))
    assert scrubbed["contexts"]["response"] == {"status_code": 200}
    assert scrubbed["extra"]["first_name"] == scrubbed["extra"]["username"] == REDACTED
    assert scrubbed["extra"]["update"] == {
        "message": {"from": {"id": REDACTED, "first_name": REDACTED}}
    }
    # What finds the bug stays: the exception, where it was raised, the statement, the ids.
    [error] = scrubbed["exception"]["values"]
    assert error["type"] == "IntegrityError" and error["module"] == "sqlalchemy.exc"
    assert "INSERT INTO customers (telegram_id, first_name, username, phone)" in error["value"]
    assert f"[parameters: {REDACTED}]" in error["value"]
    assert f"Duplicate entry '{REDACTED}' for key 'customers.phone'" in error["value"]
    assert "_register_failed" in [frame["function"] for frame in _frames(scrubbed)]
    assert scrubbed["tags"] == {"process": "api", "request_id": "edit-request-1"}
    assert scrubbed["transaction"] == "/graphql"
    assert (
        scrubbed["logentry"]["formatted"] == f"customer 42 shared {REDACTED} and typed {REDACTED}"
    )
    assert scrubbed["extra"]["customer_id"] == 42
    crumbs = scrubbed["breadcrumbs"]["values"]
    assert crumbs[0]["data"]["url"] == f"http://127.0.0.1:8081/bot{REDACTED}/sendMessage"
    assert crumbs[1]["data"] == {"code": REDACTED, "chat_id": REDACTED, "customer_id": 42}
    assert crumbs[2]["message"] == "UPDATE customers SET phone=? WHERE id = ?"


def test_a_validation_error_does_not_quote_its_input() -> None:
    try:
        Contact.model_validate({"phone": f"{FIRST_NAME}, {PHONE}"})
    except ValidationError:
        event = _event_of_current_exception()
    scrubbed = _scrubbed(event)
    [error] = scrubbed["exception"]["values"]
    assert error["type"] == "ValidationError" and "phone" in error["value"]
    assert f"input_value={REDACTED}, input_type=str" in error["value"]
    assert FIRST_NAME not in json.dumps(scrubbed, ensure_ascii=False, default=str)


def test_graphql_errors_as_strawberry_reports_them_are_dropped() -> None:
    """They are what the client saw; the failure itself comes from the log, with its traceback."""
    try:
        raise ValueError("Internal server error; quote request id edit-request-1 to support")
    except ValueError:
        event = _event_of_current_exception()
    event["exception"]["values"][0]["mechanism"] = {"type": "strawberry", "handled": False}
    assert scrub_event(event, {}) is None  # type: ignore[arg-type]


def test_a_breadcrumb_loses_tokens_and_personal_fields_when_it_is_recorded() -> None:
    crumb = {
        "type": "http",
        "category": "httplib",
        "message": f"POST http://127.0.0.1:8081/bot{BOT_TOKEN}/sendMessage",
        "data": {"url": f"http://127.0.0.1:8081/bot{BOT_TOKEN}/getMe", "phone": PHONE},
    }
    scrubbed = scrub_breadcrumb(crumb, {})
    assert scrubbed == {
        "type": "http",
        "category": "httplib",
        "message": f"POST http://127.0.0.1:8081/bot{REDACTED}/sendMessage",
        "data": {"url": f"http://127.0.0.1:8081/bot{REDACTED}/getMe", "phone": REDACTED},
    }


def test_without_a_dsn_error_tracking_is_not_started() -> None:
    assert init_error_tracking(Settings(_env_file=None), "api") is False
    assert not sentry_sdk.is_initialized()


@pytest.mark.parametrize("rate", ["-0.1", "1.5", "often"])
def test_a_traces_sample_rate_outside_zero_to_one_is_refused(
    rate: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SENTRY_TRACES_SAMPLE_RATE", rate)
    with pytest.raises(ValidationError, match="sentry_traces_sample_rate"):
        Settings(_env_file=None)


def _scrubbed(event: dict[str, Any]) -> dict[str, Any]:
    scrubbed = scrub_event(event, {})  # type: ignore[arg-type]
    assert scrubbed is not None
    return cast(dict[str, Any], scrubbed)


def _frames(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        frame
        for value in event["exception"]["values"]
        for frame in value.get("stacktrace", {}).get("frames", [])
    ]
