"""Deleting old rows a batch at a time, picked by a plain read and deleted by key.

Housekeeping (sign-in attempts, login links, finished jobs, task runs) must
never hold up the requests that write the same tables. So rows are chosen by
an ordinary read through an index and then deleted by primary key in key
order: parallel sweepers wait only for each other's rows, in one order, and
no range lock blocks an insert (READ COMMITTED). The caller loops, each batch
in its own short transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute


async def delete_batch(
    session: AsyncSession,
    key: InstrumentedAttribute[Any],
    *where: ColumnElement[bool],
    order_by: InstrumentedAttribute[Any] | None = None,
    limit: int,
) -> int:
    """Delete up to `limit` rows matching `where`, first by `order_by` (the key); how many went."""
    picked = list(
        await session.scalars(
            select(key).where(*where).order_by(key if order_by is None else order_by).limit(limit)
        )
    )
    if picked:
        await session.execute(delete(key.class_).where(key.in_(picked)))
    return len(picked)
