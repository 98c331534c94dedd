"""How late this event loop runs what is due: the margin a timing assertion allows.

A test that judges spacing or speed by the clock (the fake Bot API's record of
when each request arrived, or its own wake-ups) must tell the behaviour under
test from the machine it runs on: on a slow or loaded box every wake-up, and
every request through the fake sharing this loop, is late by however long the
loop was held up. `LoopLag` samples that lateness all along a run, so an
assertion widens its window by what was measured instead of a fixed constant.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType


class LoopLag:
    """A probe timer every `every` seconds; `worst` is the latest it ever woke.

    `stalled()` marks a stall the test makes on purpose: samples overlapping it
    are left out, so the margin stays what the machine added.
    """

    def __init__(self, every: float = 0.005) -> None:
        self.every = every
        self.samples: list[tuple[float, float]] = []  # (asleep from, woke late by)
        self._stalls: list[tuple[float, float]] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LoopLag:
        self._task = asyncio.create_task(self._probe())
        await asyncio.sleep(0)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _probe(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            since = loop.time()
            await asyncio.sleep(self.every)
            self.samples.append((since, loop.time() - since - self.every))

    @contextlib.contextmanager
    def stalled(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        began = loop.time()
        try:
            yield
        finally:
            self._stalls.append((began, loop.time()))

    @property
    def worst(self) -> float:
        """Seconds: the most a timer of this loop was late, stalls made on purpose left out."""
        kept = [
            late
            for since, late in self.samples
            if not any(
                since < end and began < since + self.every + late for began, end in self._stalls
            )
        ]
        return max(kept, default=0.0)

    @property
    def margin(self) -> float:
        """Seconds a timing assertion allows for this machine: a wake-up late by the worst
        lag seen (plus a probe period, which a short hold-up may fall within), and what it
        does next (a request through the fake on this loop) held up as long again."""
        return 2 * (self.worst + self.every)


def busiest(times: Sequence[float], window: float) -> int:
    """The most of `times` (seconds) falling in any half-open window `window` seconds long."""
    ordered = sorted(times)
    return max(
        (bisect.bisect_left(ordered, at + window) - n for n, at in enumerate(ordered)), default=0
    )


def at_most(window: float, interval: float, late: float) -> int:
    """Events planned at least `interval` apart, each up to `late` seconds late: how many can
    fall in a window `window` seconds long (those planned within `window + late`)."""
    return math.floor((window + late) / interval) + 1


async def until(condition: Callable[[], bool], what: str, within: float = 30.0) -> None:
    """Poll `condition` every 5 ms until it holds; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {within} s"
        await asyncio.sleep(0.005)
