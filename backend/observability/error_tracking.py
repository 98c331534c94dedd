"""Unhandled errors to Sentry (or anything that accepts its envelopes), when SENTRY_DSN is set.

Each entry point calls `init_error_tracking` with its process's name (api,
worker, scheduler, bots); without SENTRY_DSN nothing is started at all. What
reaches Sentry:

* every log record at ERROR or above, with its exception: this is where every
  part of Dvorik already reports what nobody handled: `RequestObservability`
  logs an unhandled error of a request (a bot's webhook update included, as
  aiogram lets a handler's exception through), `backend.graphql.errors` an
  unexpected error under a GraphQL field, Taskiq a failed task, aiogram's
  polling a failed update, uvicorn an error outside our middleware;
* a failed task once more from `TaskObservability.on_error`, should Taskiq
  stop logging it (the SDK drops the second report of the same exception);
* whatever ends a process with a traceback (the SDK's excepthook), sent
  before the process exits.

Every report carries the release, the environment and tags: `process`, and
the `request_id` (plus `task` and `task_id` in a task) taken from the log
context that `backend.observability.requests` and `.tasks` bind, so a report
and the log lines of the same request or task share their id. Log lines at
INFO and above, SQL statements (without their values) and Bot API calls come
along as breadcrumbs. Personal data is removed before anything is sent
(`backend.observability.error_scrubbing`). The SDK's integrations are named
here, none enabled behind our back (Redis's would put keys holding Telegram
ids in breadcrumbs).
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Final

import sentry_sdk
import structlog
from sentry_sdk.integrations import Integration
from sentry_sdk.integrations.aiohttp import AioHttpIntegration
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.integrations.sqlalchemy import SqlalchemyIntegration
from sentry_sdk.scope import Scope, ScopeType, add_global_event_processor
from sentry_sdk.tracing import TransactionSource
from sentry_sdk.types import Event, Hint

from backend.observability.error_scrubbing import scrub_breadcrumb, scrub_event
from backend.settings import Settings

# Log context fields that become tags of a report made while they are bound.
LOG_CONTEXT_TAGS: Final = ("request_id", "task", "task_id")
_processor_added = False


def default_release() -> str:
    try:
        return f"dvorik@{version('dvorik')}"
    except PackageNotFoundError:  # a source tree run without installing it
        return "dvorik@unknown"


def integrations(process: str) -> list[Integration]:
    """The SDK's integrations this process uses: the web ones only in the API.

    Imported here, not at the top: Sentry's Strawberry integration imports
    Strawberry and graphql-core, which a worker never uses; at module level
    they were about 9 MB of every worker's resident memory (issue 19).
    """
    used: list[Integration] = [
        LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
        SqlalchemyIntegration(),
        AioHttpIntegration(),  # the Bot API clients (aiogram's session)
    ]
    if process == "api":
        from sentry_sdk.integrations.fastapi import FastApiIntegration
        from sentry_sdk.integrations.starlette import StarletteIntegration
        from sentry_sdk.integrations.strawberry import StrawberryIntegration

        used += [
            StarletteIntegration(),
            FastApiIntegration(),
            StrawberryIntegration(async_execution=True),
        ]
    return used


def init_error_tracking(settings: Settings, process: str) -> bool:
    """Start the SDK for this process if SENTRY_DSN is set; True if it was started.

    Call it before the app is built: Strawberry's integration joins schemas
    created after it.
    """
    global _processor_added
    if settings.sentry_dsn is None:
        return False
    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.error_tracking_environment,
        release=settings.sentry_release or default_release(),
        # 0 turns tracing off altogether (None), rather than tracing and dropping everything.
        traces_sample_rate=settings.sentry_traces_sample_rate or None,
        trace_propagation_targets=[],  # no trace headers on requests to Telegram
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
        default_integrations=True,  # logging, excepthook, dedupe, atexit (flush on exit)
        auto_enabling_integrations=False,
        integrations=integrations(process),
    )
    sentry_sdk.get_global_scope().set_tag("process", process)
    if not _processor_added:
        add_global_event_processor(tag_with_log_context)
        _processor_added = True
    return True


def tag_with_log_context(event: Event, _hint: Hint) -> Event:
    """Global event processor: the request id (and task) bound to the log context, as tags.

    Runs where the report is made, so it sees that request's or task's context.
    """
    bound = structlog.contextvars.get_contextvars()
    tags = event.setdefault("tags", {})
    for name in LOG_CONTEXT_TAGS:
        value = bound.get(name)
        if value is not None:
            tags.setdefault(name, str(value))
    return event


def isolate_task(name: str) -> None:
    """From here to the end of this asyncio task, reports belong to the task run `name`.

    Its own breadcrumbs (not those of the other tasks a worker runs at the
    same time, nor of the request that queued it), and the task's name as the
    transaction. No undo is needed: each run is its own asyncio task, whose
    context (where the SDK keeps its scopes) ends with it.
    """
    if not sentry_sdk.is_initialized():
        return
    isolation = Scope.get_isolation_scope().fork()
    isolation.clear_breadcrumbs()
    Scope.set_isolation_scope(isolation)
    current = Scope(ty=ScopeType.CURRENT)  # not the queuing request's span
    current.set_transaction_name(name, source=TransactionSource.TASK)
    Scope.set_current_scope(current)


def report_exception(error: BaseException) -> None:
    """Report `error` if error tracking is on (a no-op otherwise)."""
    sentry_sdk.capture_exception(error)


def report_fatal(error: BaseException) -> None:
    """Report the error a process stops on, and wait (2 s at most) until it has left."""
    sentry_sdk.capture_exception(error)
    sentry_sdk.flush(timeout=2)
