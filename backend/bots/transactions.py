"""A bot's database work as one call: a domain function in a session of its own.

Handlers write no session plumbing. `in_transaction(sessions, customers.unsubscribe,
customer.id, now=now)` opens a session, begins a transaction, runs the call and
commits it (or rolls it back when the call raises); `reading(...)` runs a
read the same way without a transaction of its own. Each call is one session,
closed before the handler talks to Telegram or renders a template (which may
take a connection of its own), so no handler waits for one while holding one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.bots.update_claims import UpdateClaim
from backend.domain.errors import DomainError

Params = ParamSpec("Params")
Result = TypeVar("Result")

Work = Callable[Concatenate[AsyncSession, Params], Awaitable[Result]]


async def in_transaction(
    sessions: async_sessionmaker[AsyncSession],
    work: Work[Params, Result],
    *args: Params.args,
    **kwargs: Params.kwargs,
) -> Result:
    """`work(session, *args, **kwargs)` in a transaction of its own, committed on return."""
    async with sessions() as session, session.begin():
        return await work(session, *args, **kwargs)


async def reading(
    sessions: async_sessionmaker[AsyncSession],
    work: Work[Params, Result],
    *args: Params.args,
    **kwargs: Params.kwargs,
) -> Result:
    """`work(session, *args, **kwargs)` in a session of its own, for a read."""
    async with sessions() as session:
        return await work(session, *args, **kwargs)


async def claimed_transaction(
    sessions: async_sessionmaker[AsyncSession],
    claim: UpdateClaim | None,
    work: Work[Params, Result],
    *args: Params.args,
    **kwargs: Params.kwargs,
) -> Result | None:
    """`in_transaction`, with the update's record taken in the same transaction, for a
    handler flagged `claims_update` (`backend.bots.update_claims`): one commit per update,
    and None, with nothing done, when Telegram delivered this update before.

    A domain error rolls the work back; the record is then taken alone, so the error's
    answer is given once too (None if it was given before).
    """
    if claim is None:
        return await in_transaction(sessions, work, *args, **kwargs)
    try:
        async with sessions() as session, session.begin():
            if not await claim.take(session):
                return None
            return await work(session, *args, **kwargs)
    except DomainError:
        if not await claim.take_alone():
            return None
        raise
