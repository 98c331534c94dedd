"""How a run stops: its stop signal, the waits it cuts short, and cancelling our own tasks.

A pause, a cancel, a worker shutting down or a refused token set the run's
`Stop`; every wait of a delivery ends early on it (`Stopped`: the row goes
back unsent). Tasks the engine starts for itself (a run's helpers, the
limiter's booking writer) are ended with `cancel_and_wait`, which swallows
their cancellation but never a cancellation of the task that waits for them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any


class Stopped(Exception):
    """The run is stopping while this delivery waited: hand it back unsent."""


class Stop(asyncio.Event):
    """Set when the run should stop; the waits below return or raise as soon as it is."""

    async def sleep(self, seconds: float) -> bool:
        """Sleep; True if the run was told to stop meanwhile."""
        try:
            async with asyncio.timeout(seconds):  # not wait_for: 3.11's can swallow a cancel
                await self.wait()
        except TimeoutError:
            return False
        return True

    async def until(self, seconds: float) -> None:
        """Sleep `seconds`; raise `Stopped` if the run is told to stop before or meanwhile."""
        if seconds > 0 and await self.sleep(seconds):
            raise Stopped
        if self.is_set():
            raise Stopped

    def __init__(self) -> None:
        super().__init__()
        self._cut: set[asyncio.Task[Any]] = set()  # tasks in `first`, cancelled by `set`
        self._cutting: set[asyncio.Task[Any]] = set()  # those `set` has cancelled

    def set(self) -> None:
        super().set()
        for task in self._cut:
            self._cutting.add(task)
            task.cancel()
        self._cut.clear()

    async def first(self, work: Awaitable[None]) -> None:
        """Await `work`, unless the run is told to stop first: then cancel it, raise `Stopped`.

        `work` runs in the calling task, which `set` cancels: no task of its
        own and no waiter on the event per delivery (at a thousand deliveries
        a second those were a tenth of the worker's CPU). A cancel that came
        from `set` is taken back (`uncancel`) and becomes `Stopped`; any other
        cancel goes on as it came.
        """
        current = asyncio.current_task()
        if self.is_set() or current is None:
            if asyncio.iscoroutine(work):
                work.close()
            raise Stopped
        self._cut.add(current)
        try:
            await work
        except asyncio.CancelledError:
            if current not in self._cutting:
                raise
            self._cutting.discard(current)
            if current.uncancel() > 0:  # cancelled by someone else as well
                raise
            raise Stopped from None
        finally:
            self._cut.discard(current)
        if current in self._cutting:  # `set` came as `work` ended: the cancel is still due
            self._cutting.discard(current)
            current.uncancel()
            raise Stopped


async def cancel_and_wait(*tasks: asyncio.Task[Any]) -> None:
    """Cancel tasks of ours and wait until they have ended, without losing a cancel of our own.

    Awaiting a task we cancelled raises its CancelledError, which is expected.
    But when the waiting task is itself cancelled meanwhile, asyncio passes
    that cancel on to the task it awaits (already cancelled) and the same
    CancelledError is all that comes back: swallowing it would lose the cancel,
    and whoever cancelled would wait for a task that goes on (a worker's
    shutdown that never ends). `cancelling()` counts the cancels asked of the
    waiting task, so one more than before means it is being cancelled: re-raise.
    """
    current = asyncio.current_task()
    before = current.cancelling() if current is not None else 0
    for task in tasks:
        task.cancel()
    for task in tasks:
        try:
            await task
        except asyncio.CancelledError:
            if current is not None and current.cancelling() > before:
                raise
