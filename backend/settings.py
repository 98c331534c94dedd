"""Process configuration, read once from the environment (and `.env`).

Everything a deployment can change lives in this one class; `.env.example`
documents each variable and a test keeps the two in step. Shop-level
settings that an owner changes at run time (discount percents, send rate)
are not here: they live in the database, see `backend.domain.shop_settings`.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from enum import StrEnum
from functools import lru_cache
from typing import Self
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.redis_roles import RedisRole, checked_url, role_url

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./dvorik.db"
# Driverless URL schemes accepted in DATABASE_URL, and the async driver each stands for.
_DATABASE_DRIVERS = {
    "mysql://": "mysql+asyncmy://",
    "mariadb://": "mysql+asyncmy://",
    "postgresql://": "postgresql+asyncpg://",
    "postgres://": "postgresql+asyncpg://",
}
# Telegram retries an undelivered update for up to this long (hours).
TELEGRAM_REDELIVERY_HOURS = 24
_BOT_TOKEN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class LogFormat(StrEnum):
    JSON = "json"  # one JSON object a line, for a log collector
    CONSOLE = "console"  # aligned key=value lines, for a person at a terminal


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class Settings(BaseSettings):
    """All environment variables Dvorik reads; names match `.env.example`."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        # `.env.example` copied as it is leaves many `NAME=` lines: empty means "not set".
        env_ignore_empty=True,
    )

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    # Read replica (docs/operations.md, "Read replicas"): GraphQL queries read from it,
    # except an admin's own reads just after a mutation and while it lags or is down.
    database_read_url: str | None = None
    database_read_pin_seconds: float = Field(default=5.0, ge=0, le=3_600)
    database_read_max_lag_seconds: float = Field(default=10.0, ge=1, le=86_400)
    # Per role, each falling back to REDIS_URL (backend.redis_roles).
    redis_queue_url: str | None = None
    redis_state_url: str | None = None
    redis_cache_url: str | None = None
    timezone: str = "Asia/Vladivostok"

    telegram_bot_token: SecretStr | None = None
    telegram_auth_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    superadmin_telegram_id: int | None = Field(default=None, gt=0)

    jwt_secret_key: SecretStr | None = None
    internal_api_key: SecretStr | None = None
    webhook_base_url: str | None = None
    webhook_secret: SecretStr | None = None
    # The Mini Apps (backend.mini_apps): where Telegram opens them (empty: WEBHOOK_BASE_URL),
    # and how old a launch's signed initData may be before the API refuses it.
    mini_app_base_url: str | None = None
    mini_app_max_age_seconds: int = Field(default=86_400, ge=60, le=30 * 86_400)

    admin_spa_url: str = "http://127.0.0.1:5173"
    cors_origins: str = ""
    graphql_ide: bool | None = None
    # FastAPI's /api/docs, /api/redoc and /api/openapi.json: on in development,
    # off in production unless set to true.
    api_docs: bool | None = None

    # Bounded input (docs/reliability.md): request bodies, open sockets, query cost.
    graphql_max_body_bytes: int = Field(default=1_000_000, ge=1_024, le=100_000_000)
    webhook_max_body_bytes: int = Field(default=262_144, ge=1_024, le=10_000_000)
    websocket_max_per_ip: int = Field(default=20, ge=1, le=100_000)
    graphql_max_query_cost: int = Field(default=50_000, ge=1, le=10_000_000)
    # Only the SPA's trusted documents, except for owner/readonly admins (GraphiQL):
    # `backend.graphql.trusted_documents`.
    graphql_trusted_documents_only: bool = False
    # Comma-separated IPs or CIDR ranges of reverse proxies whose X-Forwarded-For
    # is believed; from anyone else the direct peer address is the client.
    trusted_proxies: str = ""

    task_redeliver_after_seconds: int = Field(default=30, ge=1, le=86_400)
    broadcast_lease_seconds: int = Field(default=20, ge=1, le=86_400)
    # Load tests against the fake Bot API: a fixed pace above Telegram's 1,000/s.
    broadcast_rate_override: float | None = Field(default=None, gt=0, le=100_000)

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "INFO"
    log_format: LogFormat | None = None
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # The task monitor (docs/task-monitor.md): task runs older than this are dropped hourly.
    task_runs_keep_days: int = Field(default=7, ge=1, le=366)

    # Error tracking (backend.observability.error_tracking): off unless SENTRY_DSN is set.
    sentry_dsn: SecretStr | None = None
    sentry_environment: str | None = None  # empty: ENVIRONMENT
    sentry_release: str | None = None  # empty: dvorik@<package version>
    sentry_traces_sample_rate: float = Field(default=0.0, ge=0.0, le=1.0)

    # Retention (docs/operations.md, "Storage and retention"): what the hourly clean-up
    # (`forget_old_records`) drops once it is this old.
    telegram_updates_keep_hours: int = Field(default=48, le=8_760)
    bulk_jobs_keep_days: int = Field(default=30, ge=1, le=3_650)
    task_stream_keep_hours: int = Field(default=24, ge=0, le=8_760)
    bot_conversation_keep_hours: int = Field(default=168, ge=1, le=8_760)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        for plain, driver in _DATABASE_DRIVERS.items():
            if value.startswith(plain):
                value = driver + value.removeprefix(plain)
        if not value.startswith(("sqlite+aiosqlite://", *set(_DATABASE_DRIVERS.values()))):
            raise ValueError(
                "must start with sqlite+aiosqlite://, mysql+asyncmy:// or postgresql+asyncpg://"
            )
        return value

    @field_validator("database_read_url")
    @classmethod
    def _replica_database(cls, value: str | None) -> str | None:
        """A replica of the server database; SQLite has none (its one file serves every read)."""
        if not value:
            return None
        if value.startswith("sqlite"):
            raise ValueError("SQLite has no read replicas: this needs a database server")
        return str(cls._known_database(value))

    @model_validator(mode="after")
    def _replica_of_the_same_kind(self) -> Self:
        if self.database_read_url is None:
            return self
        scheme = self.database_url.split("://", 1)[0]
        if not self.database_read_url.startswith(scheme + "://"):
            raise ValueError(f"DATABASE_READ_URL must be a {scheme}:// database like DATABASE_URL")
        return self

    @field_validator("redis_url", "redis_queue_url", "redis_state_url", "redis_cache_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        return checked_url(value) if value else None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        """A typo like 10.0.0.0/33 would silently never match: say so at start-up instead."""
        for entry in (part.strip() for part in value.split(",")):
            if not entry:
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or CIDR range") from None
        return value

    @field_validator("telegram_updates_keep_hours")
    @classmethod
    def _beyond_redelivery(cls, value: int) -> int:
        """A forgotten update id is handled again if Telegram delivers it again: it may for 24 h."""
        if value <= TELEGRAM_REDELIVERY_HOURS:
            raise ValueError(
                f"must be more than {TELEGRAM_REDELIVERY_HOURS} (hours): Telegram re-sends an "
                "update for up to a day, and one whose id was forgotten would be handled twice"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return value.upper()

    @field_validator("telegram_bot_token", "telegram_auth_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _BOT_TOKEN.match(value.get_secret_value()):
            raise ValueError("does not look like a Bot API token (digits:secret)")
        return value

    @field_validator("jwt_secret_key", "internal_api_key", "webhook_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")
        return value

    @field_validator("telegram_api_url", "webhook_base_url", "admin_spa_url", "mini_app_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else None

    @model_validator(mode="after")
    def _production_needs_everything(self) -> Self:
        if self.environment is not Environment.PRODUCTION:
            return self
        for role in RedisRole:
            if role_url(self, role) is None:
                raise ValueError("REDIS_URL is required when ENVIRONMENT=production")
        required = (
            "telegram_bot_token",
            "telegram_auth_bot_token",
            "jwt_secret_key",
            "internal_api_key",
            "webhook_base_url",
            "webhook_secret",
        )
        for name in required:
            if getattr(self, name) is None:
                raise ValueError(f"{name.upper()} is required when ENVIRONMENT=production")
        if self.database_url.startswith("sqlite"):
            raise ValueError(
                "DATABASE_URL must point at MySQL/MariaDB or PostgreSQL when ENVIRONMENT=production"
            )
        return self

    @property
    def mini_apps_url(self) -> str | None:
        """Where the Mini Apps are served from: MINI_APP_BASE_URL, else WEBHOOK_BASE_URL."""
        return self.mini_app_base_url or self.webhook_base_url

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def allowed_origins(self) -> list[str]:
        """CORS_ORIGINS; unset in development, the admin SPA's own origin (ADMIN_SPA_URL),
        so the SPA's dev server (and frontend-contract/example) works against `make run`."""
        listed = [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]
        if listed or self.environment is not Environment.DEVELOPMENT:
            return listed
        spa = urlsplit(self.admin_spa_url)
        return [f"{spa.scheme}://{spa.netloc}"]

    @property
    def ide_enabled(self) -> bool:
        """GraphiQL and introspection: on in development, off in production unless asked."""
        if self.graphql_ide is not None:
            return self.graphql_ide
        return self.environment is Environment.DEVELOPMENT

    @property
    def api_docs_enabled(self) -> bool:
        """/api/docs, /api/redoc, the OpenAPI document: on in development, off in production.

        In production they would map every operational endpoint for whoever looks.
        """
        if self.api_docs is not None:
            return self.api_docs
        return self.environment is Environment.DEVELOPMENT

    @property
    def logs_as(self) -> LogFormat:
        """JSON lines in production (a collector reads them), readable lines in development."""
        if self.log_format is not None:
            return self.log_format
        if self.environment is Environment.PRODUCTION:
            return LogFormat.JSON
        return LogFormat.CONSOLE

    @property
    def error_tracking_environment(self) -> str:
        """The environment error reports carry: SENTRY_ENVIRONMENT, else ENVIRONMENT."""
        return self.sentry_environment or self.environment.value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def secret(self, name: str) -> str:
        """A secret's value; in development a missing one becomes a per-process random value."""
        value = getattr(self, name)
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        return _ephemeral_secret(name)


@lru_cache
def _ephemeral_secret(name: str) -> str:
    return secrets.token_urlsafe(32)


class ConfigurationError(Exception):
    """Raised with one human line that names the offending variable."""


def describe_validation_error(error: ValidationError) -> str:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"]).upper()
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{location}: {message}" if location else message


def load_settings() -> Settings:
    """Read settings, turning pydantic's report into one line naming the variable."""
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigurationError(describe_validation_error(error)) from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()
