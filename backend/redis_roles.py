"""Which Redis each kind of data goes to, and the two forms a Redis setting may take.

Dvorik keeps three kinds of data in Redis, and a deployment may give each its
own server (`RedisRole`): the task stream (`REDIS_QUEUE_URL`), state that
must survive a request (conversations, rate limits, locks, the shared send
pace: `REDIS_STATE_URL`) and what may be lost at any time (pub/sub, caches:
`REDIS_CACHE_URL`). Each falls back to `REDIS_URL`; with none of them set,
the role is kept inside the process (the embedded mode). `role_url` is the
one place that says which URL a role uses; `backend.redis_clients` makes the
clients.

A URL names one server (`redis://`, `rediss://`, `unix://`, as redis-py
reads them) or a Sentinel group:

    redis+sentinel://host1:26379,host2:26379/mymaster/0

Sentinels to ask (port 26379 when left out), the group's name, the database
number (0 when left out). The clients then ask the Sentinels which server is
the primary, and ask again after a failover. This module is pure parsing, so
that `Settings` can refuse a malformed URL at start-up with one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.settings import Settings

SENTINEL_SCHEME = "redis+sentinel://"
SERVER_SCHEMES = ("redis://", "rediss://", "unix://")
SENTINEL_PORT = 26379


class RedisRole(StrEnum):
    QUEUE = "queue"  # the task stream (backend.task_queue)
    STATE = "state"  # conversations, rate limits, locks, the send pace
    CACHE = "cache"  # pub/sub (backend.pubsub) and caches: losing it loses nothing


def role_url(settings: Settings, role: RedisRole) -> str | None:
    """The URL of `role`'s Redis: its own setting, else REDIS_URL, else None (in-process)."""
    own: str | None = getattr(settings, f"redis_{role.value}_url")
    return own or settings.redis_url


def urls_in_use(settings: Settings) -> dict[str, list[RedisRole]]:
    """Every distinct Redis the settings use, with the roles it serves (for /ready)."""
    used: dict[str, list[RedisRole]] = {}
    for role in RedisRole:
        url = role_url(settings, role)
        if url is not None:
            used.setdefault(url, []).append(role)
    return used


class RedisUrlError(ValueError):
    """A Redis setting in neither form; the message says what is wrong with it."""


@dataclass(frozen=True)
class SentinelGroup:
    """A `redis+sentinel://` URL: whom to ask, for which group, which database."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0


def checked_url(url: str) -> str:
    """`url` if it is one of the two forms; `RedisUrlError` otherwise."""
    if url.startswith(SENTINEL_SCHEME):
        sentinel_group(url)
    elif not url.startswith(SERVER_SCHEMES):
        raise RedisUrlError(
            f"must start with {', '.join(SERVER_SCHEMES)} or {SENTINEL_SCHEME} "
            "(redis+sentinel://host:26379,host2:26379/mymaster/0)"
        )
    return url


def sentinel_group(url: str) -> SentinelGroup | None:
    """The Sentinel group `url` names; None for a single server's URL."""
    if not url.startswith(SENTINEL_SCHEME):
        return None
    rest = url.removeprefix(SENTINEL_SCHEME)
    if "@" in rest.split("/", 1)[0]:
        raise RedisUrlError("a Sentinel URL with a user or password is not supported yet")
    hosts, _, path = rest.partition("/")
    parts = path.strip("/").split("/") if path.strip("/") else []
    if not parts or len(parts) > 2:
        raise RedisUrlError(
            "a Sentinel URL names its group after the hosts: "
            "redis+sentinel://host:26379,host2:26379/mymaster/0"
        )
    return SentinelGroup(
        sentinels=tuple(_address(host) for host in hosts.split(",")),
        service=parts[0],
        db=_database(parts[1]) if len(parts) == 2 else 0,
    )


def _address(text: str) -> tuple[str, int]:
    host, colon, port = text.strip().rpartition(":")
    if not colon:
        host, port = port, str(SENTINEL_PORT)
    if not host:
        raise RedisUrlError(f"a Sentinel address without a host: {text!r}")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise RedisUrlError(f"a Sentinel address with a bad port: {text!r}")
    return host.strip("[]"), int(port)


def _database(text: str) -> int:
    if not text.isdigit():
        raise RedisUrlError(f"the database must be a number, not {text!r}")
    return int(text)
