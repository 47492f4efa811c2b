"""Progress as a log file sees it, and the step labels the runner adds."""

from __future__ import annotations

import io

from rich.console import Console

from pathways.engine import faults
from pathways.engine.progress import LineProgress, StepProgress


def _console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=200, force_terminal=False), buffer


def test_line_progress_prints_first_tick_each_tenth_and_the_end_once():
    console, buffer = _console()
    advance = LineProgress(console).task("capture/mlp", total=70_000)
    for _ in range(7_010):  # past the total, as a stage counting samples in batches might
        advance(10)
    shown = [line.split()[1] for line in buffer.getvalue().splitlines()]
    assert shown == ["10/70,000"] + [f"{k:,}/70,000" for k in range(7_000, 70_001, 7_000)]


def test_line_progress_without_a_total_prints_each_power_of_ten():
    console, buffer = _console()
    advance = LineProgress(console).task("download", total=None)
    for _ in range(2_500):
        advance()
    shown = [line.split()[1] for line in buffer.getvalue().splitlines()]
    assert shown == ["1", "10", "100", "1,000"]


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


def test_kill_points_name_a_step_and_a_tick_from_one(monkeypatch):
    monkeypatch.setenv(faults.VARIABLE, "train/mlp@seed1:2")
    assert faults.kill_tick("train/mlp@seed1") == 2
    assert faults.kill_tick("train/mlp") is None  # another step
    monkeypatch.setenv(faults.VARIABLE, "train/mlp:0")
    assert faults.kill_tick("train/mlp") is None  # ticks count from 1
    monkeypatch.setenv(faults.VARIABLE, "train/mlp:saved")
    assert faults.kill_tick("train/mlp") is None
    faults.kill_at("train/mlp", "replacing")  # another phase: this process lives on
