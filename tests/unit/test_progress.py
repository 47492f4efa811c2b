"""Progress as a log file sees it, and the step labels the runner adds."""

from __future__ import annotations

import io

from rich.console import Console

from pathways.progress import LineProgress, StepProgress


def _console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=200, force_terminal=False), buffer


def test_line_progress_prints_first_tick_each_tenth_and_the_end():
    console, buffer = _console()
    advance = LineProgress(console).task("capture/mlp", total=1000)
    for _ in range(1000):
        advance()
    lines = buffer.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["1/1000"] + [
        f"{k}/1000" for k in range(100, 1001, 100)
    ]


def test_line_progress_shows_every_tick_of_a_short_task_with_its_note():
    console, buffer = _console()
    advance = LineProgress(console).task("explain/lenet5", total=3)
    for note in ("occlusion", "Grad-CAM", "DeconvNet"):
        advance(1, note=note)
    lines = buffer.getvalue().splitlines()
    assert (
        len(lines) == 3
        and lines[-1].startswith("explain/lenet5 3/3")
        and lines[-1].endswith("DeconvNet")
    )


def test_step_progress_labels_tasks_and_messages_with_the_step():
    console, buffer = _console()
    progress = StepProgress(LineProgress(console), "train/mlp@seed1")
    progress.task("train mlp", total=1)()
    progress.log("train accuracy 0.990")
    lines = buffer.getvalue().splitlines()
    assert lines[0].startswith("train/mlp@seed1 1/1")
    assert lines[1] == "train/mlp@seed1: train accuracy 0.990"
