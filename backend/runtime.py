"""What one process shares across requests: engine, sessions, pub/sub, task queue, bots.

Built once at start-up from `Settings` (the FastAPI lifespan does it) and
handed to every transport, so no module reaches for a global. The bots are
Bot API clients only (`backend.telegram`): what a bot does with an update is
the bots package's dispatchers, which the entry points build around them.
Two kinds: aiogram's (`bots`), for the processes that handle updates, and
the lean sending client (`customer_api`) the tasks send with. A worker starts
without aiogram's (`Runtime.start(settings, bots=False)`): its Telegram types
would be half the worker's memory (`backend.telegram.bot_api`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain.database import create_engine, create_read_sessionmaker, create_sessionmaker
from backend.domain.read_replica import ReadReason, ReadTarget
from backend.domain.tasks import TaskQueue
from backend.observability.metrics import record_database_read
from backend.observability.tasks import observe_tasks
from backend.pubsub import PubSub, create_pubsub
from backend.rate_limits import RateLimiter, RedisRateLimiter, create_rate_limiter
from backend.read_replicas import ReadReplica
from backend.redis_clients import client
from backend.redis_roles import RedisRole, role_url, urls_in_use
from backend.settings import Settings
from backend.task_queue import TaskiqTaskQueue, create_task_queue
from backend.telegram.bot_api import BotApi
from backend.telegram.texts import Texts

if TYPE_CHECKING:  # aiogram, imported only where `bots` are built
    from backend.telegram.clients import BotClients


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    read_engine: AsyncEngine
    read_sessions: async_sessionmaker[AsyncSession]
    pubsub: PubSub
    tasks: TaskQueue
    rate_limiter: RateLimiter
    texts: Texts
    bots: BotClients | None = None  # aiogram's clients of both bots (not in a worker)
    customer_api: BotApi | None = None  # the customer bot's client for tasks' sends
    # DATABASE_READ_URL: where GraphQL queries may read (backend.read_replicas).
    replica: ReadReplica | None = None
    # One client per distinct Redis in use, for /ready to ask (`backend.app.health`).
    redis_probes: dict[str, Redis] = field(default_factory=dict)

    @classmethod
    def start(cls, settings: Settings, *, bots: bool = True) -> Runtime:
        """Everything built from `settings`; `bots=False` leaves aiogram's clients out."""
        engine = create_engine(settings.database_url)
        sessions = create_sessionmaker(engine)
        read_engine = (
            create_engine(settings.database_url, read_only=True) if settings.is_sqlite else engine
        )
        tasks = create_task_queue(settings, sessions)
        observe_tasks(tasks.broker)  # a task sent from a request carries its request id
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            read_engine=read_engine,
            read_sessions=create_read_sessionmaker(read_engine),
            pubsub=create_pubsub(role_url(settings, RedisRole.CACHE)),
            tasks=tasks,
            rate_limiter=create_rate_limiter(role_url(settings, RedisRole.STATE)),
            texts=Texts(sessions, settings.zone),
            bots=_bot_clients(settings) if bots else None,
            customer_api=_customer_api(settings),
            replica=_replica(settings, engine),
            redis_probes={
                url: client(url, socket_connect_timeout=2, socket_timeout=2)
                for url in urls_in_use(settings)
            },
        )

    @asynccontextmanager
    async def watching_replica(self) -> AsyncIterator[None]:
        """The replica's heartbeat and probe, in a process that serves queries (the API)."""
        if self.replica is None:
            yield
            return
        async with self.replica.watching():
            yield

    async def stop(self) -> None:
        if self.bots is not None:
            await self.bots.close()
        if self.customer_api is not None:
            await self.customer_api.close()
        if isinstance(self.rate_limiter, RedisRateLimiter):
            await self.rate_limiter.close()
        if isinstance(self.tasks, TaskiqTaskQueue):
            await self.tasks.close()
        await self.pubsub.close()
        for probe in self.redis_probes.values():
            await probe.aclose()
        await self.engine.dispose()
        await self.read_engine.dispose()
        if self.replica is not None:
            await self.replica.close()


def _bot_clients(settings: Settings) -> BotClients | None:
    from backend.telegram.clients import create_bot_clients

    return create_bot_clients(settings)


def _customer_api(settings: Settings) -> BotApi | None:
    """Only with both tokens set, as `bots`: bots are configured or they are not."""
    if settings.telegram_bot_token is None or settings.telegram_auth_bot_token is None:
        return None
    return BotApi(settings.telegram_bot_token.get_secret_value(), settings.telegram_api_url)


def _replica(settings: Settings, primary: AsyncEngine) -> ReadReplica | None:
    if settings.database_read_url is None:
        return None
    return ReadReplica(settings, primary, on_fallback=_count_fallback)


def _count_fallback() -> None:
    record_database_read(ReadTarget.PRIMARY, ReadReason.FAILED)
