"""Progress bars on the terminal for long CLI work (demo data, backups, the bench).

Long work reports its stages through a small `Progress` protocol (`start`,
`advance`) so the domain and the generators know nothing of terminals; this
adapts it to rich's bar: stage, bar, count, elapsed, remaining.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class RichProgress:
    """Adapts rich's progress bar to the demo generator's Progress protocol."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.task: TaskID | None = None

    def start(self, stage: str, total: int) -> None:
        self.task = self.bar.add_task(stage, total=total)

    def advance(self, amount: int) -> None:
        if self.task is not None:
            self.bar.advance(self.task, amount)


@contextmanager
def progress_bar(*, transient: bool = False, stderr: bool = False) -> Iterator[RichProgress]:
    """The demo generators' progress on the terminal: stage, bar, count, elapsed, remaining."""
    columns = (
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    console = Console(stderr=True) if stderr else None
    with Progress(*columns, transient=transient, console=console) as bar:
        yield RichProgress(bar)
