"""The `dvorik` command: migrate, serve, manage admins, load demo data, back up and restore.

Every command prints one line on a user error (bad setting, bad input,
unreachable database) and exits non-zero; tracebacks are for bugs only.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, time
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain import admins, templates
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.database import create_engine, create_sessionmaker, run_in_transaction
from backend.domain.errors import DomainError
from backend.domain.models import AdminRole
from backend.progress_bars import RichProgress, progress_bar
from backend.redis_roles import RedisRole, role_url
from backend.settings import ConfigurationError, Settings, get_settings

if TYPE_CHECKING:
    from backend.backups import Silent

T = TypeVar("T")

app = typer.Typer(
    help="Dvorik: loyalty and communication system.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
admin_app = typer.Typer(help="Manage admin accounts.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")


class CliError(Exception):
    """A problem worth one line to the user."""


def fail(message: str, code: int = 1) -> None:
    typer.secho(f"Error: {message}", err=True, fg=typer.colors.RED)
    sys.exit(code)


def settings() -> Settings:
    try:
        return get_settings()
    except ConfigurationError as error:
        raise CliError(f"configuration: {error}") from None


def run_with_sessions(work: Callable[[Settings, AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction on the configured database."""
    config = settings()

    async def main() -> T:
        engine = create_engine(config.database_url)
        try:
            return await run_in_transaction(
                create_sessionmaker(engine), lambda session: work(config, session)
            )
        finally:
            await engine.dispose()

    return asyncio.run(main())


def upgrade_database() -> int:
    """Alembic to head, then the missing default templates; returns how many were added."""
    from alembic import command

    from backend.migrations import alembic_config

    command.upgrade(alembic_config(settings().database_url), "head")
    return run_with_sessions(lambda _, session: templates.ensure_defaults(session))


@app.command()
def migrate() -> None:
    """Bring the database schema up to date and add missing default templates."""
    added = upgrade_database()
    typer.echo(f"Database is up to date ({added} default templates added).")


class Role(StrEnum):
    CUSTOMER = "customer"
    CASHIER = "cashier"


@app.command("try")
def try_bot(role: Annotated[Role, typer.Argument(help="customer or cashier")]) -> None:
    """Chat with a bot in this terminal through the built-in fake Telegram (no tokens)."""
    from backend.try_chat import try_bot as run

    upgrade_database()

    async def read() -> str | None:
        try:
            return await asyncio.to_thread(input, "вы> ")
        except EOFError:
            return None

    asyncio.run(run(role.value, settings(), read, typer.echo))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (HTTP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (HTTP_PORT).")] = None,
) -> None:
    """Serve the HTTP API: GraphQL, the bots' webhooks, health and metrics."""
    import uvicorn

    from backend.app import create_app
    from backend.observability.logging import configure_logging

    config = settings()
    configure_logging(config)  # uvicorn's own start-up lines are structured too
    uvicorn.run(
        create_app(config),
        host=host or config.http_host,
        port=port or config.http_port,
        log_level=config.log_level.lower(),
        log_config=None,
        # X-Forwarded-For is believed from TRUSTED_PROXIES only (create_app), not from
        # uvicorn's own FORWARDED_ALLOW_IPS default of 127.0.0.1.
        proxy_headers=False,
        # A WebSocket message is a GraphQL document too: the same ceiling as a body.
        ws_max_size=config.graphql_max_body_bytes,
    )


def read_password(confirm: bool = True) -> str:
    """From a hidden prompt on a terminal, from stdin otherwise; never from argv."""
    if sys.stdin.isatty():
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=confirm))
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise CliError("no password on standard input")
    return password


@admin_app.command("create")
def admin_create(
    email: Annotated[str, typer.Argument(help="Login email of the new admin.")],
    role: Annotated[AdminRole, typer.Option(help="owner, marketing or readonly.")] = (
        AdminRole.OWNER
    ),
    telegram_id: Annotated[int | None, typer.Option(help="Admin's Telegram user id.")] = None,
) -> None:
    """Create an admin; the password is read from a prompt or standard input."""
    password = read_password()
    admin = run_with_sessions(
        lambda _, session: admins.create(
            session, email, password, role, actor=Actor.system("cli"), telegram_id=telegram_id
        )
    )
    typer.echo(f"Admin {admin.email} ({admin.role.value}) created with id {admin.id}.")


@admin_app.command("set-password")
def admin_set_password(
    email: Annotated[str, typer.Argument(help="Email of the admin.")],
) -> None:
    """Set an admin's password (forgotten, or to lock a leaked one out); read like `create`."""
    password = read_password()
    admin = run_with_sessions(
        lambda _, session: admins.set_password(session, email, password, actor=Actor.system("cli"))
    )
    typer.echo(f"Password of {admin.email} changed; sign in with it now.")


@admin_app.command("login-link")
def admin_login_link(
    email: Annotated[str, typer.Argument(help="Email of an active admin.")],
) -> None:
    """Print a one-time login token for an admin (valid 10 minutes, single use)."""

    async def issue(_: Settings, session: AsyncSession) -> str:
        admin = await admins.find_by_email(session, email.strip())
        if admin is None or not admin.is_active:
            raise CliError(f"no active admin with email {email.strip().lower()}")
        return await admins.issue_login_token(session, admin.id, now=utcnow())

    token = run_with_sessions(issue)
    typer.echo(f"One-time login token (10 minutes): {token}")
    typer.echo("Exchange it with the GraphQL mutation loginWithToken(token: ...).")


@app.command()
def bots(
    polling: Annotated[
        bool, typer.Option("--polling", help="Long-poll the Bot API instead of webhooks.")
    ] = False,
) -> None:
    """Run both bots by long polling (local work); production uses webhooks on `serve`."""
    if not polling:
        raise CliError("bots run inside `dvorik serve` on webhooks; use --polling for local work")
    from backend.bots.dispatchers import create_bot_apps
    from backend.observability.error_tracking import init_error_tracking
    from backend.runtime import Runtime

    config = settings()
    init_error_tracking(config, "bots")  # aiogram logs a failed update: that is reported

    async def main() -> None:
        runtime = Runtime.start(config)
        bot_apps = create_bot_apps(runtime)
        try:
            if bot_apps is None:
                raise CliError("set TELEGRAM_BOT_TOKEN and TELEGRAM_AUTH_BOT_TOKEN first")
            for bot_app in bot_apps.all():
                await bot_app.bot.delete_webhook()
            typer.echo(f"Polling {config.telegram_api_url} for both bots; Ctrl+C stops.")
            await asyncio.gather(
                *(a.dispatcher.start_polling(a.bot, handle_signals=False) for a in bot_apps.all())
            )
        finally:
            if bot_apps is not None:
                await bot_apps.close()
            await runtime.stop()

    asyncio.run(main())


def run_until_signalled(work: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run `work(stop)`; SIGTERM or Ctrl+C sets `stop`, and `work` finishes what it is doing."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await work(stop)

    asyncio.run(runner())


def needs_redis(what: str, process: str) -> Settings:
    """Settings with REDIS_URL; logging configured and error tracking on for `process`."""
    config = settings()
    if not role_url(config, RedisRole.QUEUE):
        raise CliError(
            "REDIS_URL (or REDIS_QUEUE_URL) is not set: "
            f"without it `dvorik serve` runs {what} itself"
        )
    from backend.observability.error_tracking import init_error_tracking
    from backend.observability.logging import configure_logging

    configure_logging(config)
    init_error_tracking(config, process)
    return config


@app.command()
def worker(
    concurrency: Annotated[
        int, typer.Option(min=1, max=500, help="How many tasks this process runs at once.")
    ] = 20,
) -> None:
    """Run background tasks from Redis: broadcasts, notifications, bulk jobs, scheduled work."""
    from backend.workers.lean_process import keep_out_of_this_process

    keep_out_of_this_process()
    from backend.observability.metrics import MetricsPortTaken, start_worker_metrics
    from backend.task_queue import consumer_name, create_broker
    from backend.workers.worker import run_worker

    config = needs_redis("background tasks", "worker")
    try:
        metrics_port = start_worker_metrics(config)
    except MetricsPortTaken as error:
        raise CliError(str(error)) from None
    if metrics_port is not None:
        typer.echo(f"Metrics: http://{config.http_host}:{metrics_port}/metrics")
    broker = create_broker(
        role_url(config, RedisRole.QUEUE),
        redeliver_after_ms=config.task_redeliver_after_seconds * 1000,
    )
    broker.state.settings = config  # the worker's Runtime is built from these at start-up
    typer.echo(f"Worker {consumer_name()} started; SIGTERM or Ctrl+C stops it gracefully.")
    run_until_signalled(lambda stop: run_worker(broker, stop, concurrency=concurrency))


@app.command()
def scheduler() -> None:
    """Queue scheduled work: birthdays 09:00, due broadcasts and notices, expiry, clean-up.

    Birthdays at 09:00 shop time, due broadcasts and held notices every minute,
    expiry at 00:05, the clean-up of old records every hour at :30.
    """
    from backend.workers.lean_process import keep_out_of_this_process

    keep_out_of_this_process()
    from backend.workers.schedule import run_scheduler

    config = needs_redis("the schedule", "scheduler")
    typer.echo(f"Scheduler started (time zone {config.timezone}); SIGTERM or Ctrl+C stops it.")
    run_until_signalled(lambda stop: run_scheduler(config, stop))


@app.command("export-schema")
def export_schema() -> None:
    """Print the GraphQL schema (SDL); schema.graphql is this output, checked by a test."""
    from backend.graphql.schema import schema

    typer.echo(schema.as_str())


@app.command("demo-data")
def demo_data(
    customers: Annotated[
        int,
        typer.Option(
            min=1,
            max=10_000_000,
            help="How many customers. Above 200,000 the volume generator is used "
            "(two years, three discounts each, 200 broadcasts; written in chunks).",
        ),
    ] = 5000,
    volume: Annotated[
        bool,
        typer.Option(help="Use the volume generator (as for benchmarks) at any size."),
    ] = False,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = (
        20261125
    ),
    if_empty: Annotated[bool, typer.Option(help="Do nothing if customers exist.")] = False,
    as_of: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="The data's 'today' (UTC); default: today."),
    ] = None,
) -> None:
    """Fill an empty database with realistic demo data (same seed and day, same data)."""
    from backend import demo_data as demo

    config = settings()
    day = (as_of or utcnow()).date()
    now = datetime.combine(day, time(2, 0), tzinfo=UTC)

    async def main() -> str:
        engine = create_engine(config.database_url)
        sessions = create_sessionmaker(engine)
        try:
            async with sessions() as session:
                if if_empty and await demo.has_data(session):
                    return "Demo data skipped: the database already has customers."
            with progress_bar() as progress:
                generate = (
                    demo.generate_volume
                    if volume or customers > demo.DETAILED_LIMIT
                    else demo.generate
                )
                summary = await generate(
                    sessions, customers=customers, seed=seed, now=now, progress=progress
                )
            return (
                f"Demo data: {summary.customers} customers, {summary.discounts} discounts, "
                f"{summary.segments} segments, {summary.broadcasts} broadcasts "
                f"({summary.deliveries} deliveries)."
            )
        finally:
            await engine.dispose()

    typer.echo(asyncio.run(main()))


def backup_progress() -> AbstractContextManager[RichProgress | Silent]:
    """A bar on standard error when it is a terminal (standard output may carry the backup)."""
    from backend.backups import Silent

    return progress_bar(stderr=True) if sys.stderr.isatty() else nullcontext(Silent())


@app.command()
def backup(
    file: Annotated[str, typer.Argument(help="The new backup file; - writes to standard output.")],
) -> None:
    """Back up the database into FILE (gzip'd JSON lines) from one snapshot, while the shop runs."""
    from backend import backups

    config = settings()
    try:
        with backup_progress() as progress, backups.backup_file(file) as out:
            header = asyncio.run(backups.take_backup(config.database_url, out, progress))
    except backups.BackupError as error:
        raise CliError(f"backup refused: {error}") from None
    typer.echo(
        f"Backup of {header.rows} rows in {len(header.tables)} tables written to {file} "
        f"(schema revision {header.revision}).",
        err=file == "-",
    )


@app.command()
def restore(
    file: Annotated[str, typer.Argument(help="A file `dvorik backup` wrote; - reads stdin.")],
    wipe: Annotated[
        bool, typer.Option("--wipe", help="Replace whatever the database holds now.")
    ] = False,
) -> None:
    """Restore a backup into an empty, migrated database, in one transaction (all or nothing)."""
    from backend import backups

    config = settings()
    try:
        with backup_progress() as progress, backups.backup_reader(file) as reader:
            header = asyncio.run(
                backups.restore_backup(config.database_url, reader, wipe=wipe, progress=progress)
            )
    except backups.BackupError as error:
        raise CliError(f"restore refused, the database is unchanged: {error}") from None
    typer.echo(
        f"Restored {header.rows} rows in {len(header.tables)} tables from {file} "
        f"(taken {header.created_at}, schema revision {header.revision})."
    )


@app.command("fake-telegram")
def fake_telegram(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8081,
) -> None:
    """Serve a fake Telegram Bot API (control API under /fake) for demos and benchmarks."""
    import uvicorn

    from backend.fake_telegram import FakeTelegram, create_app

    typer.echo(f"Fake Telegram Bot API: http://{host}:{port} (control API: /fake/docs)")
    uvicorn.run(create_app(FakeTelegram()), host=host, port=port, access_log=False)


def main() -> None:
    """Entry point: user errors become one red line and a non-zero exit."""
    try:
        app()
    except CliError as error:
        fail(str(error))
    except DomainError as error:
        fail(error.message)
    except (OperationalError, DBAPIError) as error:
        fail(f"database unavailable: {error.orig if error.orig else error}")
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as error:  # Redis or the queue gone: one line, and a report if tracked
        from backend.observability.error_tracking import report_fatal
        from backend.outages import outage_of

        what = outage_of(error)
        if what is None:
            raise
        report_fatal(error)
        fail(f"{what} unavailable: {error}")


if __name__ == "__main__":
    main()
