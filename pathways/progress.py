"""Progress reporting that stages use without knowing about terminals.

A stage calls ``progress.task("training mlp", total=8)`` and advances the returned callable.
:class:`Silent` ignores everything (library use, tests); the CLI passes :class:`RichProgress`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Progress(Protocol):
    def task(self, description: str, total: float | None = None) -> Callable[..., None]: ...

    def log(self, message: str) -> None: ...


class Silent:
    """Reports nothing."""

    def task(self, description: str, total: float | None = None) -> Callable[..., None]:
        return lambda advance=1, **fields: None

    def log(self, message: str) -> None:
        pass


class RichProgress:
    """Rich progress bars on stderr; one bar per task, removed when the task completes."""

    def __init__(self, console=None) -> None:  # noqa: ANN001 - rich Console
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as _Progress

        self.console = console or Console(stderr=True)
        self._progress = _Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[note]}"),
            console=self.console,
            transient=False,
        )

        self._started = False

    def __enter__(self) -> RichProgress:
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        if self._started:
            self._progress.stop()

    def task(self, description: str, total: float | None = None) -> Callable[..., None]:
        if not self._started:  # started on the first bar, so a failing run prints no empty bar
            self._progress.start()
            self._started = True
        task_id = self._progress.add_task(description, total=total, note="")

        def advance(advance: float = 1, note: str | None = None) -> None:
            fields = {"note": note} if note is not None else {}
            self._progress.update(task_id, advance=advance, **fields)

        return advance

    def log(self, message: str) -> None:
        self.console.print(message, highlight=False)
