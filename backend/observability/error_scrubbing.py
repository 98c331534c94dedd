"""What an error report may carry to Sentry: the error and where it happened, never a person.

Deny by default where that is cheap, before anything is pattern-matched:

* the request is reduced to its method and its URL without the query string:
  no headers (Authorization, Cookie, X-API-Key, the webhook's secret token),
  no body (GraphQL variables and Telegram updates hold phones and names), no
  cookies, no client address;
* stack frames carry no local variables (the SDK is also told not to collect
  them), and no event names a user;
* GraphQL errors as Strawberry's integration reports them are dropped: they
  are what the client was told (a refusal, or the masked "internal error"
  message with no traceback); the real failure is reported once, from the
  log record `backend.graphql.errors` writes with the exception attached.

What is left goes through the log scrubber (`backend.observability.logging`):
in the log record's fields, the breadcrumbs' data and the message parameters
a personal or secret field (phone, first_name, username, code, token, ...)
becomes `[redacted]`, and every string of the event, exception messages and
breadcrumbs included, loses what looks like a phone number, an e-mail, a
Telegram id, a discount code, a JWT, a Bot API token (Bot API URLs carry it)
or the bound values of a failed SQL statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final, cast

from sentry_sdk.types import Breadcrumb, BreadcrumbHint, Event, Hint

from backend.observability.logging import REDACTED, redacted, scrub

# Top-level parts of an event that name the SDK, the code's versions and the moment.
_NOT_USER_DATA: Final = frozenset(
    {"event_id", "timestamp", "start_timestamp", "sdk", "modules", "release", "environment"}
)
# Strawberry's integration reports each GraphQL error of a response under this mechanism.
_GRAPHQL_RESPONSE_ERRORS: Final = "strawberry"


def scrub_event(sent: Event, _hint: Hint) -> Event | None:
    """`before_send` (and `before_send_transaction`): the event without personal data."""
    event = cast(dict[str, Any], sent)
    if _GRAPHQL_RESPONSE_ERRORS in _mechanisms_of(event):
        return None
    event.pop("user", None)
    _reduce_request(event)
    for frames in _frame_lists(event):
        for frame in frames:
            frame.pop("vars", None)
    contexts = event.get("contexts")
    if isinstance(contexts, dict) and isinstance(contexts.get("response"), dict):
        status = contexts["response"].get("status_code")
        contexts["response"] = {"status_code": status} if status is not None else {}
    if "extra" in event:
        event["extra"] = _scrub_strings(redacted(event["extra"]))
    logentry = event.get("logentry")
    if isinstance(logentry, dict) and "params" in logentry:
        logentry["params"] = _scrub_strings(redacted(logentry["params"]))
    breadcrumbs = event.get("breadcrumbs")
    if isinstance(breadcrumbs, dict) and isinstance(breadcrumbs.get("values"), list):
        breadcrumbs["values"] = [_scrubbed_crumb(crumb) for crumb in breadcrumbs["values"]]
    scrubbed = {
        key: value if key in _NOT_USER_DATA else _scrub_strings(value)
        for key, value in event.items()
    }
    return cast(Event, scrubbed)


def scrub_breadcrumb(crumb: Breadcrumb, _hint: BreadcrumbHint) -> Breadcrumb:
    """`before_breadcrumb`: a log line, a Bot API call or a query, without personal data."""
    return cast(Breadcrumb, _scrubbed_crumb(crumb))


def _scrubbed_crumb(crumb: Any) -> Any:
    if not isinstance(crumb, dict):
        return _scrub_strings(crumb)
    return {
        key: _scrub_strings(redacted(value) if key == "data" else value)
        for key, value in crumb.items()
    }


def _scrub_strings(value: Any) -> Any:
    """Every string inside `value` scrubbed, and numbers that look like a Telegram id or a phone.

    Keys and other values stay as they are.
    """
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value if scrub(str(value)) == str(value) else REDACTED
    if isinstance(value, dict):
        return {key: _scrub_strings(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_strings(item) for item in value]
    return value


def _reduce_request(event: dict[str, Any]) -> None:
    request = event.get("request")
    if not isinstance(request, dict):
        event.pop("request", None)
        return
    reduced: dict[str, Any] = {}
    if isinstance(request.get("method"), str):
        reduced["method"] = request["method"]
    if isinstance(request.get("url"), str):
        reduced["url"] = request["url"].split("?", 1)[0].split("#", 1)[0]
    event["request"] = reduced


def _frame_lists(event: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
    """The frames of every stack trace in the event: exceptions, threads, a bare one."""
    stacktraces: list[Any] = [event.get("stacktrace")]
    for section in ("exception", "threads"):
        container = event.get(section)
        values = container.get("values") if isinstance(container, dict) else None
        for value in values if isinstance(values, list) else []:
            if isinstance(value, dict):
                stacktraces.append(value.get("stacktrace"))
    for stacktrace in stacktraces:
        frames = stacktrace.get("frames") if isinstance(stacktrace, dict) else None
        if isinstance(frames, list):
            yield [frame for frame in frames if isinstance(frame, dict)]


def _mechanisms_of(event: dict[str, Any]) -> set[str]:
    """How the SDK caught the event's exceptions ("logging", "starlette", "strawberry", ...)."""
    container = event.get("exception")
    values = container.get("values") if isinstance(container, dict) else None
    kinds = set()
    for value in values if isinstance(values, list) else []:
        mechanism = value.get("mechanism") if isinstance(value, dict) else None
        kind = mechanism.get("type") if isinstance(mechanism, dict) else None
        if isinstance(kind, str):
            kinds.add(kind)
    return kinds
