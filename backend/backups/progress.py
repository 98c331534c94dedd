"""Where a backup or a restore reports how far it has got (the CLI draws a bar on a terminal)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """`start` once per stage with its total of rows, then `advance` as rows go by."""

    def start(self, stage: str, total: int) -> None: ...

    def advance(self, amount: int) -> None: ...


class Silent:
    """No report: for a run whose output is not a terminal."""

    def start(self, stage: str, total: int) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass
