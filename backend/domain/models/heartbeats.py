"""The replica heartbeat: one row the primary rewrites every second while a read replica is set.

Read on the replica, its time says how far behind the replica is, also when
replication is paused or broken (the server's own lag figure is then NULL):
see `backend.domain.read_replica`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from backend.domain.models.base import Base
from backend.domain.models.types import UTCDateTime


class ReplicaHeartbeat(Base):
    """`beaten_at` is when an API process last wrote the row on the primary (its clock, UTC)."""

    __tablename__ = "replica_heartbeat"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    beaten_at: Mapped[datetime] = mapped_column(UTCDateTime())
