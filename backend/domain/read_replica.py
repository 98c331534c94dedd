"""Reads from a replica: how far behind it is, and which reads may go there.

Lag is measured with a heartbeat, not with the server's own figure: MariaDB's
Seconds_Behind_Master is NULL while replication is paused and says nothing of
a replica that stopped hearing from its primary. The API rewrites one row on
the primary every `BEAT_EVERY` seconds with its clock (`beat`); the replica
applies that row in commit order, after everything committed before it, so
the time the replica holds (`applied_through`) is a moment up to which the
replica has every write. Lag is now minus that time, true whether replication
is paused, broken or slow.

Dialect seam: `LAG_PROBES` names, per SQLAlchemy dialect, the function that
reads that moment from a replica. The heartbeat is plain SQL and works on any
server, a PostgreSQL hot standby included (the test suite proves both):
`pg_last_xact_replay_timestamp()` would be the primary's commit time of the
last replayed transaction, which stands still on an idle primary, so an idle
standby would look ever further behind; the heartbeat always has something
new to replay, so a standby that keeps up reads as fresh.

The rule (`choose`), for a read of an operation that may use the replica:

* the replica has not been measured, or its last probe failed: primary;
* it lags more than `max_lag`: primary, for everyone;
* the admin asking wrote (a mutation) less than `pin` seconds ago, or after
  the moment the replica has applied through: primary, so an admin always
  reads their own writes (read-your-writes), however long the replica lags
  under `max_lag`;
* otherwise the replica.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.domain.models import ReplicaHeartbeat

HEARTBEAT_ROW = 1
BEAT_EVERY = 1.0  # seconds between heartbeats, and between probes of the replica


class ReadTarget(StrEnum):
    REPLICA = "replica"
    PRIMARY = "primary"


class ReadReason(StrEnum):
    """Why a read went where it went (a metric's label: a closed set)."""

    FRESH = "fresh"  # replica: close enough, and the admin has not written since
    WRITES = "writes"  # a mutation, or a live operation (subscription): always the primary
    PINNED = "pinned"  # the admin wrote after what the replica has applied, or just now
    PIN_UNKNOWN = "pin_unknown"  # the pin store (Redis) did not answer
    LAGGING = "lagging"  # the replica is more than DATABASE_READ_MAX_LAG_SECONDS behind
    UNREACHABLE = "unreachable"  # its last probe failed, or none has succeeded yet
    FAILED = "failed"  # the replica failed a statement, which then ran on the primary


@dataclass(frozen=True)
class ReplicaState:
    """What the last probe of the replica found: the heartbeat it holds, or why it failed."""

    applied_through: datetime | None = None
    error: str | None = "not probed yet"

    def lag(self, now: datetime) -> float | None:
        """Seconds the replica is behind at `now`; None when unknown (unreachable)."""
        if self.error is not None or self.applied_through is None:
            return None
        return max(0.0, (now - self.applied_through).total_seconds())


@dataclass(frozen=True)
class ReadPolicy:
    max_lag: float  # DATABASE_READ_MAX_LAG_SECONDS
    pin: float  # DATABASE_READ_PIN_SECONDS: the least time an admin's reads stay on the primary

    @property
    def pin_lifetime(self) -> float:
        """How long a pin must be kept: past it, the replica either has the write or lags too much.

        A pin older than `max_lag` (plus the heartbeat's own granularity) can
        only matter while the replica lags more than `max_lag`, and then every
        read is on the primary anyway.
        """
        return max(self.pin, self.max_lag + 2 * BEAT_EVERY)


def choose(
    state: ReplicaState, policy: ReadPolicy, *, now: datetime, written_at: datetime | None
) -> tuple[ReadTarget, ReadReason]:
    """Where a read goes, by the rule in this module's docstring."""
    lag = state.lag(now)
    if lag is None or state.applied_through is None:
        return ReadTarget.PRIMARY, ReadReason.UNREACHABLE
    if lag > policy.max_lag:
        return ReadTarget.PRIMARY, ReadReason.LAGGING
    if written_at is not None and (
        (now - written_at).total_seconds() < policy.pin or written_at >= state.applied_through
    ):
        return ReadTarget.PRIMARY, ReadReason.PINNED
    return ReadTarget.REPLICA, ReadReason.FRESH


def describe(state: ReplicaState, policy: ReadPolicy, *, now: datetime) -> str:
    """The replica's state in one line for `/ready`."""
    lag = state.lag(now)
    if lag is None:
        return f"unreachable ({state.error}), reads on primary"
    if lag > policy.max_lag:
        return f"behind {lag:.0f} s, reads on primary"
    return f"ok, behind {lag:.1f} s"


async def beat(primary: AsyncConnection, now: datetime) -> None:
    """Write the heartbeat on the primary (the caller commits)."""
    updated = await primary.execute(
        update(ReplicaHeartbeat).where(ReplicaHeartbeat.id == HEARTBEAT_ROW).values(beaten_at=now)
    )
    if updated.rowcount == 0:  # a database just migrated: the first beat inserts the row
        await primary.execute(insert(ReplicaHeartbeat).values(id=HEARTBEAT_ROW, beaten_at=now))


async def heartbeat_applied(replica: AsyncConnection) -> datetime | None:
    """The heartbeat the replica holds: it has applied every commit before that moment."""
    query = select(ReplicaHeartbeat.beaten_at).where(ReplicaHeartbeat.id == HEARTBEAT_ROW)
    applied: datetime | None = await replica.scalar(query)
    return applied


LagProbe = Callable[[AsyncConnection], Awaitable[datetime | None]]
LAG_PROBES: dict[str, LagProbe] = {"mysql": heartbeat_applied, "postgresql": heartbeat_applied}


def lag_probe(dialect: str) -> LagProbe:
    """How to read a replica's applied-through moment on `dialect` (the heartbeat by default)."""
    return LAG_PROBES.get(dialect, heartbeat_applied)
