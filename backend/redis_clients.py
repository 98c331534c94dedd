"""Redis clients for a URL of either form: one server, or a Sentinel group's primary.

Every Redis connection Dvorik opens comes from `connection_pool` (or `client`,
a client that owns one), so a `redis+sentinel://` URL works wherever a
`redis://` one does. For a Sentinel group the pool asks the Sentinels for the
primary before it connects (redis-py's `SentinelConnectionPool`), drops its
idle connections when the primary changed, and turns a demoted primary's
"read only" replies into connection errors: to the code above, a failover
looks like a short Redis outage, which every user of Redis already rides out
(`backend.outages`). While the Sentinels have not yet promoted a replica,
asking for the primary fails with `MasterNotFoundError`, a `ConnectionError`.

The pools block for a free connection (`BlockingConnectionPool`), as the
task broker's always did; unbounded unless `max_connections` is given.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

from backend.redis_roles import RedisRole, role_url, sentinel_group
from backend.settings import Settings

WAIT_FOR_CONNECTION = 20.0  # seconds a command waits for a free pooled connection


class SentinelBlockingConnectionPool(SentinelConnectionPool, BlockingConnectionPool):
    """A Sentinel group's primary behind a blocking pool (redis-py ships only the other).

    Closing it closes the connections to the Sentinels too: they belong to this pool alone.
    """

    async def aclose(self) -> None:
        try:
            await super().aclose()
        finally:
            await self.sentinel_manager.aclose()


def connection_pool(
    url: str,
    *,
    max_connections: int | None = None,
    timeout: float = WAIT_FOR_CONNECTION,
    **options: Any,
) -> BlockingConnectionPool:
    """A pool to the server `url` names, or to its Sentinel group's primary of the moment.

    `options` are redis-py connection options (socket timeouts, ...); for a
    Sentinel group its socket options apply to the Sentinels too.
    """
    group = sentinel_group(url)
    if group is None:
        return BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=timeout, **options
        )
    sentinels = Sentinel(
        group.sentinels,
        sentinel_kwargs={name: v for name, v in options.items() if name.startswith("socket_")},
    )
    # redis-py leaves SentinelConnectionPool.__init__ untyped.
    return SentinelBlockingConnectionPool(  # type: ignore[no-untyped-call]
        group.service,
        sentinels,
        db=group.db,
        max_connections=max_connections,
        timeout=timeout,
        **options,
    )


def client(url: str, **options: Any) -> Redis:
    """A client that owns its own pool (`connection_pool`): closing it closes the pool."""
    return Redis.from_pool(connection_pool(url, **options))


def role_client(settings: Settings, role: RedisRole, **options: Any) -> Redis | None:
    """A client of `role`'s Redis (`backend.redis_roles.role_url`), or None without one."""
    url = role_url(settings, role)
    return client(url, **options) if url is not None else None
