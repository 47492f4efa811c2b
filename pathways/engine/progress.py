"""Progress reporting that stages use without knowing about terminals.

A stage calls ``progress.task("training mlp", total=8)`` and advances the returned callable.
:class:`Silent` ignores everything (library use, tests); the CLI passes :class:`RichProgress`
on a terminal and :class:`LineProgress` otherwise (a log file of a long run left going). The
runner hands each stage a :class:`StepProgress`, which labels its bar with the step id.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from pathways.engine import faults


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
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[note]}", markup=False),
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
        self.console.print(message, markup=False, highlight=False)


def _count(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


class LineProgress:
    """Plain lines for logs: a task's first tick, each tenth of its total and its end (without a
    total: ticks 1, 10, 100, …)."""

    def __init__(self, console=None) -> None:  # noqa: ANN001 - rich Console
        from rich.console import Console

        self.console = console or Console(stderr=True)

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        pass

    def task(self, description: str, total: float | None = None) -> Callable[..., None]:
        start = time.perf_counter()
        done = 0.0
        shown = -1.0

        def advance(advance: float = 1, note: str | None = None) -> None:
            nonlocal done, shown
            done += advance
            if total:
                mark = min(float(int(10 * done / total)), 10.0)  # tenths; 10 = the end, once
                of = f"/{_count(total)}"
            else:
                mark, of = float(len(str(int(done)))), ""  # a new power of ten
            if mark == shown:
                return
            shown = mark
            extra = f"  {note}" if note else ""
            self.console.print(
                f"{description} {_count(done)}{of} {time.perf_counter() - start:.1f} s{extra}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )

        return advance

    def log(self, message: str) -> None:
        self.console.print(message, markup=False, highlight=False, soft_wrap=True)


class StepProgress:
    """The progress a stage sees while a step runs: its task and its messages are labelled with
    the step id (a stage does not know its seed or step), and a fault test may ask for the
    process to be killed after a given tick (:mod:`pathways.engine.faults`)."""

    def __init__(self, inner: Progress, step_id: str) -> None:
        self.inner = inner
        self.step_id = step_id
        self.ticks = 0  # of the whole step (a stage has one task today)

    def task(self, description: str, total: float | None = None) -> Callable[..., None]:
        """A task labelled with the step id (stages have one task each; their own description,
        meant for library use, does not name the seed)."""
        advance = self.inner.task(self.step_id, total)
        kill_at = faults.kill_tick(self.step_id)
        if kill_at is None:
            return advance

        def advance_then_maybe_die(*args: Any, **fields: Any) -> None:
            advance(*args, **fields)
            self.ticks += 1
            if self.ticks == kill_at:
                faults.kill_now()

        return advance_then_maybe_die

    def log(self, message: str) -> None:
        self.inner.log(f"{self.step_id}: {message}")
