"""Where a query reads (`backend.domain.read_replica.choose`), at the rule's edges.

The end-to-end tests (tests/ops/test_read_replica_*.py) show the rule on a
real replica; these pin down its boundaries without waiting for real lag.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.domain.read_replica import (
    ReadPolicy,
    ReadReason,
    ReadTarget,
    ReplicaState,
    choose,
    describe,
)

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
POLICY = ReadPolicy(max_lag=10.0, pin=5.0)


def behind(seconds: float) -> ReplicaState:
    return ReplicaState(applied_through=NOW - timedelta(seconds=seconds), error=None)


def route(state: ReplicaState, wrote_ago: float | None = None) -> tuple[ReadTarget, ReadReason]:
    written_at = None if wrote_ago is None else NOW - timedelta(seconds=wrote_ago)
    return choose(state, POLICY, now=NOW, written_at=written_at)


def test_a_fresh_replica_serves_an_admin_who_has_not_written() -> None:
    assert route(behind(0.5)) == (ReadTarget.REPLICA, ReadReason.FRESH)
    assert route(behind(9.9)) == (ReadTarget.REPLICA, ReadReason.FRESH)


def test_past_the_lag_limit_or_unreachable_everyone_reads_the_primary() -> None:
    assert route(behind(10.1)) == (ReadTarget.PRIMARY, ReadReason.LAGGING)
    assert route(ReplicaState(error="OperationalError")) == (
        ReadTarget.PRIMARY,
        ReadReason.UNREACHABLE,
    )
    assert route(ReplicaState()) == (ReadTarget.PRIMARY, ReadReason.UNREACHABLE)


def test_a_writer_reads_the_primary_until_the_replica_has_the_write() -> None:
    # Within the pin, even if the replica seems to have it already.
    assert route(behind(0.1), wrote_ago=1.0) == (ReadTarget.PRIMARY, ReadReason.PINNED)
    # Past the pin, the replica 8 s behind lacks a write made 6 s ago.
    assert route(behind(8.0), wrote_ago=6.0) == (ReadTarget.PRIMARY, ReadReason.PINNED)
    # Past the pin, and the replica has applied beyond the write.
    assert route(behind(1.0), wrote_ago=6.0) == (ReadTarget.REPLICA, ReadReason.FRESH)


def test_a_pin_outlives_the_lag_limit() -> None:
    """A pin that expired before the replica caught up would let a stale read through."""
    assert ReadPolicy(max_lag=10.0, pin=5.0).pin_lifetime >= 10.0 + 1.0
    assert ReadPolicy(max_lag=2.0, pin=30.0).pin_lifetime == 30.0


def test_ready_describes_the_replica_in_one_line() -> None:
    assert describe(behind(0.42), POLICY, now=NOW) == "ok, behind 0.4 s"
    assert describe(behind(12.2), POLICY, now=NOW) == "behind 12 s, reads on primary"
    unreachable = describe(ReplicaState(error="TimeoutError"), POLICY, now=NOW)
    assert unreachable == "unreachable (TimeoutError), reads on primary"
