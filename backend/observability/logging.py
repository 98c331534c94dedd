"""Structured logs for every Dvorik process: JSON lines (or readable lines), no personal data.

The code logs with the standard library (`logging.getLogger(...)`, fields as
`extra=`); structlog formats every record, ours and our libraries' alike, so
one setting decides the format of the whole process. Each line carries the
time (UTC), level, logger, message, the request id of the HTTP request it
belongs to (bound by `backend.observability.requests`) and any extra fields.

Personal data never reaches the output: fields with a personal or secret name
(phone, names, username, e-mail, discount code, tokens, passwords, keys) are
replaced by `[redacted]`, and every string that is left, the message and
tracebacks included, is scrubbed of what looks like a phone number, a
Telegram id, a discount code, a JWT, a bot token or SQL parameters. Logging
an id (customer 42, broadcast 7) is the way to point at a person.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Final, TextIO

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

from backend.settings import LogFormat, Settings

REDACTED: Final = "[redacted]"

# Field names whose values are personal data or secrets, compared in lower case.
PERSONAL_FIELDS: Final = frozenset(
    {
        "phone",
        "phone_number",
        "first_name",
        "last_name",
        "full_name",
        "name",
        "username",
        "user_name",
        "email",
        "birthday",
        "birth_date",
        "telegram_id",
        "chat_id",
        "user_id",
        "code",
        "codes",
        "discount_code",
        "text",
        "token",
        "access_token",
        "password",
        "secret",
        "authorization",
        "cookie",
        "api_key",
        "x-api-key",
        "jti",
    }
)
PERSONAL_SUFFIXES: Final = (
    "_token",
    "_secret",
    "_secret_key",
    "_api_key",
    "_password",
    "_phone",
    "_email",
)

_SCRUBBERS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    # SQLAlchemy puts the bound values of a failed statement in its message.
    (re.compile(r"\[parameters: [^\n]*"), f"[parameters: {REDACTED}]"),
    # ...and MySQL quotes the offending value: "Duplicate entry '+7999…' for key …",
    # "Incorrect string value: '…' for column 'first_name'"; pydantic quotes its input.
    (
        re.compile(r"(?s)(Duplicate entry |Incorrect \w+ value: )'.*?'(?= for )"),
        rf"\g<1>'{REDACTED}'",
    ),
    (re.compile(r"(?s)input_value=.*?(?=, input_type=)"), f"input_value={REDACTED}"),
    (re.compile(r"(?i)\b(bearer\s+)\S+"), rf"\g<1>{REDACTED}"),
    (re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), REDACTED),
    (re.compile(r"(?<![0-9])\d{5,}:[A-Za-z0-9_-]{30,}"), REDACTED),  # a Bot API token
    (re.compile(r"\+\d[\d\s()-]{8,}\d"), REDACTED),  # +7 999 123-45-67
    # 8 (914) 123-45-67, 7-914-123-45-67: a Russian number written without the plus.
    (
        re.compile(r"(?<![\d.:/-])[78][\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?![\d-])"),
        REDACTED,
    ),
    (
        re.compile(r"[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
        REDACTED,
    ),  # an e-mail address
    (re.compile(r"(?<![\w.:/-])\d{9,15}(?![\w.-])"), REDACTED),  # 79991234567, Telegram ids
    (re.compile(r"(?<![A-Za-z0-9_])[A-HJKMNP-Z2-9]{8}(?![A-Za-z0-9_])"), REDACTED),  # a code
)
# Fields that structlog and we fill with values that are never personal.
_TRUSTED_FIELDS: Final = frozenset({"timestamp", "level", "logger", "request_id"})


def scrub(text: str) -> str:
    """`text` with whatever looks like personal data or a secret replaced."""
    for pattern, replacement in _SCRUBBERS:
        text = pattern.sub(replacement, text)
    return text


def is_personal(field: str) -> bool:
    name = field.lower()
    return name in PERSONAL_FIELDS or name.endswith(PERSONAL_SUFFIXES)


def redacted(value: Any) -> Any:
    """`value` with personal fields of mappings `[redacted]` and every string scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {
            key: REDACTED if is_personal(str(key)) else redacted(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redacted(item) for item in value]
    if isinstance(value, bool | int | float) or value is None:
        return value
    return scrub(repr(value))  # an object: its repr may hold anything


def redact_personal_data(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """structlog processor: personal fields become `[redacted]`, other strings are scrubbed."""
    for field, value in list(event.items()):
        if field in _TRUSTED_FIELDS or field.startswith("_"):
            continue
        event[field] = REDACTED if is_personal(field) else redacted(value)
    return event


def _drop_copies(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """Record attributes that repeat the message: uvicorn's coloured copy, a formatted copy."""
    for field in ("color_message", "message", "asctime"):
        event.pop(field, None)
    return event


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        _drop_copies,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


def _renderer(log_format: LogFormat) -> Processor:
    if log_format is LogFormat.JSON:
        return structlog.processors.JSONRenderer(sort_keys=False, ensure_ascii=False)
    return structlog.dev.ConsoleRenderer(
        colors=False, exception_formatter=structlog.dev.plain_traceback
    )


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is now (test runners replace it), or a given stream."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self._fixed = stream

    @property
    def stream(self) -> TextIO:
        return self._fixed or sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        return None


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> logging.Handler:
    """Send every log record of this process through structlog, as `LOG_FORMAT` says.

    Idempotent: calling it again replaces the handler it installed before and
    leaves other handlers (a test runner's) alone. Uvicorn's own loggers go
    through the same handler; its access log is switched off because
    `RequestObservability` logs each request with its id, route and duration,
    and httpx's per-request INFO lines (Bot API URLs hold the token) are off.
    Returns the handler (tests read its output through `stream`).
    """
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    final: Sequence[Processor] = (
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        structlog.processors.format_exc_info,
        redact_personal_data,
        _renderer(settings.logs_as),
    )
    handler = _CurrentStderr(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_shared_processors(), processors=list(final)
        )
    )
    handler.set_name("dvorik")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "dvorik"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    # httpx logs every request at INFO, with Bot API URLs that carry the bot's token.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    return handler
